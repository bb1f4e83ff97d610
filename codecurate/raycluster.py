"""Connect to Ray for ``--executor ray``: a cluster address, ``$RAY_ADDRESS``, or a local instance.

Ray is an optional extra (``pip install 'codecurate[ray]'``), imported only here and in the code that runs
with ``--executor ray``. On a cluster every node needs codecurate installed (the same version as the driver):
workers import our stage modules to run the encoder and LLM actors.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from codecurate.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class RayOptions:
    """Where a scalable stage (mine, curate, generate) runs its parallel work. A section of each of those stage
    configs and of the pipeline's: its keys are flat flags and YAML keys (``--executor``, ``--ray-address``...)."""

    executor: Literal["local", "ray"] = field(
        default="local", metadata={"help": "local: this process; ray: Ray tasks or actors (docs/scale.md)"}
    )
    ray_address: str = field(default="", metadata={"help": "Ray cluster address (empty: $RAY_ADDRESS or a local one)"})
    ray_workers: int = field(
        default=0, metadata={"help": "most parallel Ray tasks or actors (0: one per GPU share when "
                             "--ray-gpus-per-worker is set, else one per CPU of the cluster)"}
    )  # fmt: skip
    ray_gpus_per_worker: float = field(
        default=0.0, metadata={"help": "GPUs per Ray actor (1: one model replica per GPU; 0 on CPU)"}
    )


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
