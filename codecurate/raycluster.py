"""Connect to Ray for ``--executor ray``: a cluster address, ``$RAY_ADDRESS``, or a local instance.

Ray is an optional extra (``pip install 'codecurate[ray]'``), imported only here and in the code that runs
with ``--executor ray``. On a cluster every node needs codecurate installed (the same version as the driver):
workers import our stage modules to run the encoder and LLM actors.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from codecurate.errors import UserError

log = logging.getLogger(__name__)


def require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (a subpackage: not loaded by `import ray`)
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'codecurate[ray]'") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> Any:
    """``ray.init`` once per process; returns the ``ray`` module.

    ``address`` (or ``$RAY_ADDRESS``) joins a running cluster; with neither, a local instance starts, sized by
    ``num_cpus`` (default: all cores). Calling again reuses the connection, so stages in one pipeline share it.
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None and num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as e:
        raise UserError(f"cannot reach the Ray cluster at {address!r}: {e}") from None
    ctx = ray.data.DataContext.get_current()
    # Same records in the same order as --executor local, so outputs compare line by line and resume by position.
    ctx.execution_options.preserve_order = True
    # Ray Data logs every job's plan at INFO on stderr (the full log is in /tmp/ray anyway): keep its warnings,
    # and under -q its errors only, with its bars off like ours.
    quiet = bool(os.environ.get("TQDM_DISABLE"))
    logging.getLogger("ray.data").setLevel(logging.ERROR if quiet else logging.WARNING)
    if quiet:
        ctx.enable_progress_bars = False
    log.info("Ray: %s, resources %s", address or "local instance", ray.cluster_resources())
    return ray
