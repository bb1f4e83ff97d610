"""Exported encoder backends (curate/encoders.py): vectors against fp32, export cache reuse, `auto`, fallbacks.

The backend tests load the real MiniLM and export it (ONNX Runtime, OpenVINO): they run wherever the backend's
package is installed (the `[onnx]` / `[openvino]` extras, which `make test` installs) and skip, saying which package
is missing, on a developer's machine without them; in CI a missing one fails.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from codecurate.curate import embed, encoder_auto, encoders
from codecurate.curate.encoder_auto import Trial, choose, neighbour_agreement
from codecurate.curate.encoders import missing_package

# Top-1 neighbour agreement with fp32 each backend must keep on the fixed sample (measured: bench/RESULTS.md).
# The fp32 exports must match fp32 PyTorch; int8 only has to stay a usable embedding: `auto` applies the 95% bar.
THRESHOLD = {"onnx": 0.99, "openvino": 0.99, "openvino-bf16": 0.95, "onnx-int8": 0.85, "openvino-int8": 0.85}
SAMPLE = 160


def _block(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make `modules` unimportable, as on a machine without them (a None entry in sys.modules)."""
    for mod in modules:
        monkeypatch.setitem(sys.modules, mod, None)


def test_missing_package_falls_back_with_one_line(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    _block(monkeypatch, "onnxruntime", "openvino")
    assert missing_package("onnx-int8") == "onnxruntime" and missing_package("openvino") == "openvino"
    assert missing_package("fp32") is None
    with caplog.at_level(logging.WARNING, logger="codecurate.curate.encoders"):
        got = embed.resolve_backend("onnx-int8", "cpu")
    assert got == encoders.fallback_backend() and got in ("fp32", "bf16")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "onnxruntime" in lines[0] and "codecurate[onnx]" in lines[0]


def test_auto_without_exported_backends_keeps_the_torch_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _block(monkeypatch, "onnxruntime", "openvino")
    monkeypatch.setenv("CODECURATE_CACHE", str(tmp_path))

    def no_calibration(*a, **k):
        raise AssertionError("auto must not calibrate when no exported backend is installed")

    monkeypatch.setattr(encoder_auto, "calibrate", no_calibration)
    assert embed.resolve_backend("auto", "cpu") == encoders.fallback_backend()
    assert embed.resolve_backend("auto", "cuda") == "bf16"
    assert not (tmp_path / "encoders").exists()


def test_choose_takes_the_fastest_backend_that_agrees() -> None:
    trials = [Trial("fp32", 10.0, 1.0, 1.0), Trial("onnx-int8", 3.0, 0.90, 0.93), Trial("openvino", 6.0, 0.99, 0.99),
              Trial("bf16", 4.0, 0.96, 0.98)]  # fmt: skip
    assert choose(trials).backend == "bf16"  # onnx-int8 is faster but keeps only 90% of the neighbours
    assert choose(trials, min_agreement=0.995).backend == "fp32"
    assert choose(trials, min_agreement=0.85).backend == "onnx-int8"


def test_neighbour_agreement_counts_changed_neighbours() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 8)).astype(np.float32)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    assert neighbour_agreement(a, a) == (1.0, 1.0)
    b = a.copy()
    b[[0, 1]] = b[[1, 0]]  # two texts swap vectors: their own neighbours and theirs as neighbours change
    top1, top10 = neighbour_agreement(a, b)
    assert top1 < 1.0 and top10 < 1.0


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory: pytest.TempPathFactory):
    """One export cache for the module, so each backend is exported once."""
    old = os.environ.get("CODECURATE_CACHE")
    os.environ["CODECURATE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield Path(os.environ["CODECURATE_CACHE"])
    if old is None:
        os.environ.pop("CODECURATE_CACHE", None)
    else:
        os.environ["CODECURATE_CACHE"] = old


@pytest.fixture(scope="module")
def sample() -> list[str]:
    return encoders.stdlib_snippets(SAMPLE)


@pytest.fixture(scope="module")
def fp32_vectors(export_cache: Path, sample: list[str]) -> np.ndarray:
    return embed.encode(embed.load_encoder("minilm", "fp32", "cpu"), sample)


def _missing(message: str) -> None:
    """A missing extra skips on a developer's machine but fails in CI, where `make test` installs the extras."""
    if os.environ.get("CI"):
        pytest.fail(message + " in CI")
    pytest.skip(message)


@pytest.mark.slow
@pytest.mark.parametrize("backend", encoders.EXPORTED_BACKENDS)
def test_backend_vectors_agree_with_fp32_and_export_is_reused(
    backend: str, export_cache: Path, sample: list[str], fp32_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (mod := missing_package(backend)) is not None:
        _missing(f"{backend} needs {mod} (pip install 'codecurate[{encoders.EXTRA[backend]}]')")
    vec = embed.encode(embed.load_encoder("minilm", backend, "cpu"), sample)
    assert vec.shape == fp32_vectors.shape and vec.dtype == np.float32
    assert np.allclose(np.linalg.norm(vec, axis=1), 1.0, atol=1e-5)
    top1, _ = neighbour_agreement(fp32_vectors, vec)
    assert top1 >= THRESHOLD[backend], f"{backend}: top-1 agreement {top1:.3f} < {THRESHOLD[backend]}"
    if backend in ("onnx", "openvino"):  # the same fp32 graph: vectors equal up to kernel rounding
        assert np.abs(vec - fp32_vectors).max() < 1e-3
    folder = encoders.export_dir("minilm", backend)
    assert (folder / encoders.GRAPH_FILE[backend]).exists() and folder.parent.parent == export_cache

    # A second load (a later run) reuses the export: exporting again would fail here. Same texts, same batches:
    # onnx-int8 scales activations per batch, so only the same batch composition gives the same vectors.
    def no_export(*a, **k):
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr(encoders, "_export", no_export)
    again = embed.encode(embed.load_encoder("minilm", backend, "cpu"), sample)
    np.testing.assert_allclose(again, vec, atol=1e-5)


@pytest.mark.slow
def test_auto_calibrates_once_and_caches_its_choice(
    export_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    installed = [b for b in ("onnx", "onnx-int8") if missing_package(b) is None]
    if not installed:
        _missing("auto's calibration needs an exported backend: pip install 'codecurate[onnx]'")
    monkeypatch.setattr(encoders, "EXPORTED_BACKENDS", tuple(installed))  # keep the test to the ONNX backends
    monkeypatch.setattr(encoder_auto, "CALIBRATION_TEXTS", 64)
    with caplog.at_level(logging.INFO, logger="codecurate.curate.encoder_auto"):
        chosen = embed.resolve_backend("auto", "cpu")
    decisions = list((export_cache / "encoders").glob("auto-*.json"))
    assert len(decisions) == 1
    import json

    saved = json.loads(decisions[0].read_text())
    trials = [Trial(**t) for t in saved["trials"]]
    assert [t.backend for t in trials][0] == "fp32" and set(installed) <= {t.backend for t in trials}
    assert chosen == saved["backend"] == choose(trials).backend
    assert trials[0].top1 == 1.0 and all(t.seconds > 0 for t in trials)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("encoder backend auto:")]
    assert len(said) == 1 and chosen in said[0]

    def no_calibration(*a, **k):
        raise AssertionError("the cached decision should have been reused")

    monkeypatch.setattr(encoder_auto, "calibrate", no_calibration)
    assert embed.resolve_backend("auto", "cpu") == chosen


def test_auto_calibrates_on_the_pool_it_embeds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`auto` measures agreement on the user's own texts (int8 keeps fewer neighbours on other languages than on
    the stdlib), skips calibrating a pool too small to pay for it, and caches one decision per pool sample."""
    installed = [b for b in encoders.EXPORTED_BACKENDS if missing_package(b) is None]
    if not installed:
        _missing("auto's calibration needs an exported backend: pip install 'codecurate[onnx]'")
    monkeypatch.setenv("CODECURATE_CACHE", str(tmp_path))
    seen: list[list[str]] = []

    def calibrate(encoder, candidates, max_seq_length=0, texts=None):
        seen.append(list(texts))
        # The measured trials of the two pools differ: int8 keeps 97% of one's neighbours, 91% of the other's.
        top1 = 0.97 if texts[0].startswith("func") else 0.91
        return [Trial("fp32", 10.0, 1.0, 1.0), Trial(installed[0], 2.0, top1, 0.95)]

    monkeypatch.setattr(encoder_auto, "calibrate", calibrate)
    small = [f"def f{i}(): return {i}" for i in range(100)]
    assert embed.resolve_backend("auto", "cpu", texts=small) == encoders.fallback_backend() and not seen
    go = [f"func f{i}() int {{ return {i} }}" for i in range(5000)]
    rust = [f"fn f{i}() -> i32 {{ {i} }}" for i in range(5000)]
    assert embed.resolve_backend("auto", "cpu", texts=go) == installed[0]
    assert embed.resolve_backend("auto", "cpu", texts=rust) == "fp32"  # below the 95% bar on this pool
    assert len(seen) == 2 and len(seen[0]) == encoder_auto.CALIBRATION_TEXTS and set(seen[0]) <= set(go)
    assert seen[0][0] == go[0] and seen[0][-1] != go[encoder_auto.CALIBRATION_TEXTS - 1]  # spread over the pool
    assert embed.resolve_backend("auto", "cpu", texts=go) == installed[0] and len(seen) == 2  # cached


def test_embed_texts_calibrates_auto_on_its_distinct_texts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    got: list = []

    def resolve_auto(encoder, device, max_seq_length=0, texts=None):
        got.append(list(texts))
        return "fp32"

    monkeypatch.setattr(encoder_auto, "resolve_auto", resolve_auto)
    texts = ["def a(): pass", "def b(): pass", "def a(): pass"]
    vec, stats = embed.embed_texts(texts, encoder_backend="auto", device="cpu", cache=tmp_path / "c")
    assert got == [["def a(): pass", "def b(): pass"]] and stats["backend"] == "fp32" and vec.shape[0] == 3


def test_openvino_bf16_is_the_openvino_export_in_bf16(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """One export serves both (no second copy in the cache); a CPU without native bf16 runs it in fp32, saying so."""
    if (mod := missing_package("openvino-bf16")) is not None:
        _missing(f"openvino-bf16 needs {mod} (pip install 'codecurate[openvino]')")
    assert encoders.export_dir("minilm", "openvino-bf16") == encoders.export_dir("minilm", "openvino")
    monkeypatch.setattr(encoders, "cpu_has_bf16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="codecurate.curate.encoders"):
        assert embed.resolve_backend("openvino-bf16", "cpu") == "openvino"
    assert [r.getMessage() for r in caplog.records] == [
        "encoder backend openvino-bf16 needs a CPU with native bf16 (AVX512-BF16/AMX); using openvino"
    ]
