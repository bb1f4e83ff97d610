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


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray instance with 2 CPUs (CI's size), shared by the session's tests; skips if Ray is absent."""
    ray = pytest.importorskip("ray")
    from codecurate.raycluster import connect

    os.environ.pop("RAY_ADDRESS", None)  # never join a cluster the developer happens to point at
    connect(num_cpus=2)
    yield ray
    ray.shutdown()
