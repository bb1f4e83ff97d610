"""Named wall-clock timings for manifests and summaries."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Timings(dict):
    """``with t("embed"): ...`` adds the block's seconds under "embed"."""

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(self.get(name, 0.0) + time.perf_counter() - start, 3)
