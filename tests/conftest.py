import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data when present; tests that use it skip cleanly on a machine without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


def require_ray():
    """Ray (the `[ray]` extra, which `make setup` installs): a test that needs it skips on a developer's machine
    without it, but fails in CI, where a missing Ray is a broken install, not a reason to skip."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail(f"Ray cannot be imported in CI: {e}")
        pytest.skip(f"Ray is not installed: {e}")
    return ray


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray instance with 2 CPUs (CI's size), shared by the session's tests; without Ray it skips
    (fails in CI)."""
    ray = require_ray()
    from codecurate.raycluster import connect

    os.environ.pop("RAY_ADDRESS", None)  # never join a cluster the developer happens to point at
    connect(num_cpus=2)
    yield ray
    ray.shutdown()
