"""``--encoder-backend auto`` on CPU: time each installed backend against fp32 on a sample of the texts to embed,
and pick the fastest whose top-1 neighbour agreement with fp32 is at least :data:`MIN_AGREEMENT`.

The decision is cached per model, machine, package versions and pool sample, and logged in one line. Measuring on
the user's own texts matters: int8 keeps fewer neighbours on other languages than on Python (bench/RESULTS.md).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from codecurate.curate import encoders
from codecurate.curate.encoders import EXPORT_VERSION, fallback_backend, load, package_versions, slug, stdlib_snippets
from codecurate.io import atomic_write, sha256_text
from codecurate.models import cache_dir, cpu_has_bf16, resolve_encoder

log = logging.getLogger(__name__)

MIN_AGREEMENT = 0.95  # top-1 nearest-neighbour agreement with fp32 that `auto` requires
CALIBRATION_TEXTS = 256
# Below this many distinct texts `auto` does not calibrate: timing and exporting the candidates would take longer
# than embedding the pool with the PyTorch rule (bf16 on CPUs with native bf16, else fp32).
MIN_POOL_FOR_CALIBRATION = 2000


def neighbour_agreement(a: np.ndarray, b: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(top-1 agreement, mean top-k overlap) of nearest neighbours within the pool, self excluded, of two
    embeddings of the same texts (unit rows)."""
    top1, overlap = 0, 0.0
    k = min(k, len(a) - 1)
    for s in range(0, len(a), 1024):
        sa, sb = a[s : s + 1024] @ a.T, b[s : s + 1024] @ b.T
        rows = np.arange(len(sa))
        sa[rows, rows + s] = sb[rows, rows + s] = -np.inf
        ka, kb = np.argsort(-sa, axis=1)[:, :k], np.argsort(-sb, axis=1)[:, :k]
        top1 += int((ka[:, 0] == kb[:, 0]).sum())
        overlap += sum(len(set(x) & set(y)) / k for x, y in zip(ka, kb, strict=True))
    return top1 / len(a), overlap / len(a)


@dataclass
class Trial:
    backend: str
    seconds: float
    top1: float
    top10: float


def _encode(model: Any, texts: Sequence[str]) -> np.ndarray:
    emb = model.encode(list(texts), batch_size=32, show_progress_bar=False, convert_to_numpy=True)
    emb = np.asarray(emb, dtype=np.float32)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def calibrate(encoder: str, candidates: Sequence[str], max_seq_length: int = 0,
              texts: Sequence[str] | None = None) -> list[Trial]:  # fmt: skip
    """Time each candidate backend on the calibration texts and measure its neighbour agreement with fp32
    (``fp32`` itself is always the first trial). A candidate that fails to load or run is left out with one
    warning line."""
    texts = list(texts) if texts is not None else stdlib_snippets(CALIBRATION_TEXTS)
    trials: list[Trial] = []
    ref: np.ndarray | None = None
    for backend in ["fp32", *[c for c in candidates if c != "fp32"]]:
        try:
            model = load(encoder, backend, "cpu", max_seq_length)
            _encode(model, texts[:16])  # warm-up: first-call allocations and graph compilation
            start = time.perf_counter()
            emb = _encode(model, texts)
            secs = time.perf_counter() - start
        except Exception as e:  # noqa: BLE001 - one backend failing must not stop the choice among the others
            log.warning("encoder backend %s left out of auto: %s", backend, str(e).splitlines()[0] if str(e) else e)
            continue
        if ref is None:
            ref = emb
        trials.append(Trial(backend, secs, *neighbour_agreement(ref, emb)))
    return trials


def choose(trials: Sequence[Trial], min_agreement: float = MIN_AGREEMENT) -> Trial:
    """The fastest trial whose top-1 agreement with fp32 is at least ``min_agreement`` (fp32 always qualifies)."""
    ok = [t for t in trials if t.top1 >= min_agreement]
    return min(ok, key=lambda t: t.seconds)


def calibration_sample(texts: Sequence[str], size: int) -> list[str]:
    """``size`` of ``texts``, evenly spaced over the whole list (deterministic, so a rerun calibrates on the same
    sample and reuses the cached decision)."""
    if len(texts) <= size:
        return list(texts)
    step = len(texts) / size
    return [texts[int(i * step)] for i in range(size)]


def resolve_auto(encoder: str, device: str, max_seq_length: int = 0, texts: Sequence[str] | None = None) -> str:
    """``auto``: bf16 on a GPU; on CPU the calibrated choice among the installed backends (cached), or the bf16/fp32
    rule when no exported backend is installed.

    ``texts`` (the distinct texts of the pool to embed): calibrate on an evenly spaced sample of them, so the 95%
    bar holds on the user's own code (int8 keeps fewer neighbours on other languages than on the stdlib it
    would otherwise be calibrated on: bench/RESULTS.md); a pool under MIN_POOL_FOR_CALIBRATION texts takes the
    PyTorch rule without calibrating. Without ``texts``: the stdlib sample."""
    if device != "cpu":
        return "bf16" if device.startswith("cuda") else "fp32"
    installed = [b for b in encoders.EXPORTED_BACKENDS if encoders.missing_package(b) is None]
    if not cpu_has_bf16():
        installed = [b for b in installed if b != "openvino-bf16"]
    if not installed:
        return fallback_backend()
    if texts is not None and len(texts) < MIN_POOL_FOR_CALIBRATION:
        log.info("encoder backend auto: %s (%d texts: too few to pay for calibrating the exported backends)",
                 fallback_backend(), len(texts))  # fmt: skip
        return fallback_backend()
    sample = calibration_sample(texts, CALIBRATION_TEXTS) if texts is not None else None
    candidates = [*installed, *(["bf16"] if cpu_has_bf16() else [])]
    key = sha256_text(EXPORT_VERSION, resolve_encoder(encoder), str(max_seq_length), ",".join(candidates),
                      str(cpu_has_bf16()), str(os.cpu_count()), *(package_versions(b) for b in installed),
                      *(["pool", *sample] if sample is not None else []))[:16]  # fmt: skip
    path = cache_dir() / "encoders" / f"auto-{slug(encoder)}-{key}.json"
    if path.exists():
        try:
            decision = json.loads(path.read_text())
            log.info("encoder backend auto: %s (decision cached in %s)", decision["backend"], path)
            return str(decision["backend"])
        except (OSError, ValueError, KeyError):
            pass  # unreadable decision: calibrate again
    trials = calibrate(encoder, candidates, max_seq_length, sample)
    best = choose(trials)
    base = trials[0].seconds
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        on = "pool sample" if sample is not None else "stdlib"
        json.dump({"backend": best.backend, "min_agreement": MIN_AGREEMENT, "calibrated_on": on,
                   "trials": [asdict(t) for t in trials]}, fh, indent=1)  # fmt: skip
    log.info("encoder backend auto: %s (%.1fx fp32 speed, %.1f%% top-1 neighbour agreement on %d %s functions; "
             "tried %s; cached in %s)", best.backend, base / best.seconds, 100 * best.top1,
             len(sample) if sample is not None else CALIBRATION_TEXTS, "pool" if sample is not None else "stdlib",
             ", ".join(t.backend for t in trials), path)  # fmt: skip
    return best.backend
