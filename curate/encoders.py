"""Exported CPU encoder backends (ONNX Runtime, OpenVINO; fp32 and int8) behind ``SentenceTransformer.encode``.

Backends: ``fp32`` and ``bf16`` run the PyTorch model; ``onnx``, ``onnx-int8``, ``openvino``, ``openvino-bf16``
and ``openvino-int8`` run an exported copy of its transformer (``openvino-bf16`` is the ``openvino`` export run in
bf16 on CPUs with native bf16). The export happens once per (model, backend) into
``$CODECURATE_CACHE/encoders/<name>-<backend>-<key>/`` and later loads reuse it. The SentenceTransformer itself is
kept: only its transformer module's forward is replaced by the exported graph, so tokenising, length sorting,
batching, pooling and normalising stay sentence-transformers' own (``encode`` sorts texts by length before
batching, so no extra length bucketing is needed).

Why not ``SentenceTransformer(path, backend="onnx")``: that path goes through Optimum, and the released Optimum
exporters pin transformers below this project's (optimum-onnx 0.1.0: transformers < 4.58; optimum-intel 2.2:
< 5.6), so they fail to import here. The same tools Optimum calls do the work instead: ``torch.onnx.export`` and
``onnxruntime.quantization.quantize_dynamic`` (int8 weights, dynamic int8 activations), ``openvino.convert_model``
and ``nncf.quantize`` (static int8, calibrated on standard-library functions). No graph is written by hand.

``auto`` on CPU measures every installed backend against fp32 on a fixed calibration sample and picks the fastest
whose top-1 neighbour agreement with fp32 is at least :data:`MIN_AGREEMENT`; the decision is cached per model,
machine and package versions, and logged in one line. A backend whose package is missing is skipped (``auto``)
or replaced by the PyTorch backend with one warning (asked for by name).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import os
import re
import shutil
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codecurate.errors import UserError
from codecurate.io import atomic_write, sha256_text
from codecurate.models import cache_dir, cpu_has_bf16, resolve_encoder

log = logging.getLogger(__name__)

TORCH_BACKENDS = ("fp32", "bf16")
EXPORTED_BACKENDS = ("onnx", "onnx-int8", "openvino", "openvino-bf16", "openvino-int8")
# Backends that run another backend's export with other runtime settings (no export of their own).
EXPORT_OF = {"openvino-bf16": "openvino"}
BACKENDS = ("auto", *TORCH_BACKENDS, *EXPORTED_BACKENDS)
# Modules each exported backend imports, and the extra that installs them.
NEEDS = {
    "onnx": ("onnx", "onnxruntime"),
    "onnx-int8": ("onnx", "onnxruntime"),
    "openvino": ("openvino",),
    "openvino-bf16": ("openvino",),
    "openvino-int8": ("openvino", "nncf"),
}
EXTRA = {"onnx": "onnx", "onnx-int8": "onnx", "openvino": "openvino", "openvino-bf16": "openvino",
         "openvino-int8": "openvino"}  # fmt: skip
MIN_AGREEMENT = 0.95  # top-1 nearest-neighbour agreement with fp32 that `auto` requires
CALIBRATION_TEXTS = 256
# Below this many distinct texts `auto` does not calibrate: timing and exporting the candidates would take longer
# than embedding the pool with the PyTorch rule (bf16 on CPUs with native bf16, else fp32).
MIN_POOL_FOR_CALIBRATION = 2000
EXPORT_VERSION = "enc-v1"  # bump when the export recipe changes: old exports are then not reused


def missing_package(backend: str) -> str | None:
    """The first module an exported backend needs that cannot be imported, or None (torch backends: None)."""
    for mod in NEEDS.get(backend, ()):
        try:
            if importlib.util.find_spec(mod) is None:  # also None when sys.modules[mod] is None (blocked)
                return mod
        except (ImportError, ValueError):
            return mod
    return None


def fallback_backend() -> str:
    """What runs when no exported backend is usable: bf16 on CPUs with native bf16, else fp32."""
    return "bf16" if cpu_has_bf16() else "fp32"


def usable(backend: str) -> str:
    """``backend`` if its packages are installed, else the PyTorch fallback, with one warning line saying why
    (``openvino-bf16`` on a CPU without native bf16: ``openvino``, the same graph in fp32)."""
    if backend == "openvino-bf16" and not cpu_has_bf16():
        log.warning("encoder backend openvino-bf16 needs a CPU with native bf16 (AVX512-BF16/AMX); using openvino")
        backend = "openvino"
    mod = missing_package(backend)
    if mod is None:
        return backend
    fb = fallback_backend()
    log.warning("encoder backend %s needs the %r package (pip install 'codecurate[%s]'); using %s instead",
                backend, mod, EXTRA[backend], fb)  # fmt: skip
    return fb


def stdlib_snippets(limit: int) -> list[str]:
    """Source of up to ``limit`` function definitions from the running Python's stdlib, in sorted file order
    (a fixed, offline sample of real code of mixed length)."""
    out: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        try:
            src = path.read_text(encoding="utf-8")
            tree = ast.parse(src)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                seg = ast.get_source_segment(src, node)
                if seg:
                    out.append(seg)
                    if len(out) == limit:
                        return out
    return out


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


# ---------------------------------------------------------------------------------------------------- export


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip("/").split("/")[-1])[:48] or "model"


def _versions(backend: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("torch", "transformers", *NEEDS.get(backend, ())):
        try:
            out.append(f"{pkg}={version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg}=?")
    return ",".join(out)


def export_dir(encoder: str, backend: str) -> Path:
    """Where the export of ``encoder`` for ``backend`` lives: keyed by model folder, backend, recipe version and
    the versions of the packages that wrote it."""
    backend = EXPORT_OF.get(backend, backend)
    path = resolve_encoder(encoder)
    key = sha256_text(EXPORT_VERSION, os.path.abspath(path) if os.path.exists(path) else path, backend,
                      _versions(backend))[:12]  # fmt: skip
    return cache_dir() / "encoders" / f"{_slug(encoder)}-{backend}-{key}"


GRAPH_FILE = {"onnx": "model.onnx", "onnx-int8": "model.onnx", "openvino": "model.xml", "openvino-bf16": "model.xml",
              "openvino-int8": "model.xml"}  # fmt: skip


def _forward_module(model: Any) -> Any:
    """The transformer as a module of positional tensors returning the last hidden state (what exporters trace)."""
    import torch

    hf = model[0].model

    class Forward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(self, input_ids, attention_mask, token_type_ids=None):  # type: ignore[no-untyped-def]
            kw = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.hf(input_ids=input_ids, attention_mask=attention_mask, **kw).last_hidden_state

    return Forward().eval()


def _input_names(model: Any) -> list[str]:
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in model.tokenizer.model_input_names:
        names.append("token_type_ids")
    return names


def _example_inputs(model: Any, texts: Sequence[str]) -> dict[str, Any]:
    """Tokenised texts of different lengths, so the traced graph sees padding (a trace of an unpadded batch may
    drop the attention mask)."""
    feats = model.tokenizer(list(texts), padding=True, truncation=True, max_length=model.max_seq_length,
                            return_tensors="pt")  # fmt: skip
    return {k: feats[k] for k in _input_names(model)}


def _calibration_feeds(model: Any, texts: Sequence[str]) -> list[dict[str, np.ndarray]]:
    return [{k: v.numpy() for k, v in _example_inputs(model, [t]).items()} for t in texts]


def _export(model: Any, backend: str, folder: Path) -> None:
    """Write ``folder/GRAPH_FILE[backend]`` from the loaded SentenceTransformer ``model`` (PyTorch, fp32)."""
    import torch

    module = _forward_module(model)
    example = _example_inputs(model, ["def f(x):\n    return x + 1", "a"])
    names = list(example)
    if backend.startswith("onnx"):
        out = folder / "model.onnx"
        fp32 = folder / "model-fp32.onnx" if backend == "onnx-int8" else out
        axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
        with torch.no_grad():
            torch.onnx.export(module, tuple(example.values()), str(fp32), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                              dynamo=False)  # fmt: skip
        if backend == "onnx-int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # Per-channel weight scales: per-tensor int8 lost a fifth of the top-1 neighbours on code (bench).
            quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)
            fp32.unlink()
        return
    import openvino as ov

    with torch.no_grad():
        ov_model = ov.convert_model(module, example_input=tuple(example.values()))
    for i, n in enumerate(names):
        ov_model.inputs[i].get_tensor().set_names({n})
    if backend == "openvino-int8":
        import nncf

        # Static int8 calibrated on real code; the model type keeps attention's softmax/layernorm in float.
        data = nncf.Dataset(_calibration_feeds(model, stdlib_snippets(128)))
        ov_model = nncf.quantize(ov_model, data, model_type=nncf.ModelType.TRANSFORMER, subset_size=128)
    ov.save_model(ov_model, str(folder / "model.xml"), compress_to_fp16=False)


def ensure_export(encoder: str, backend: str, model: Any | None = None) -> Path:
    """The export folder of ``encoder`` for ``backend``, written on first use (atomically: a folder renamed into
    place, so a killed export leaves nothing that a later run would trust)."""
    backend = EXPORT_OF.get(backend, backend)
    folder = export_dir(encoder, backend)
    if (folder / GRAPH_FILE[backend]).exists():
        return folder
    if model is None:
        model = _load_torch(encoder, "fp32", 0)
    log.info("exporting encoder %s to %s (once): %s", encoder, backend, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        with warnings.catch_warnings():
            # The tracer's notes on Python branches in transformers' masking code: the exported graph is checked
            # against fp32 vectors on padded batches instead (tests/test_encoders.py).
            warnings.simplefilter("ignore")
            _export(model, backend, tmp)
        with atomic_write(tmp / "export.json") as fh:
            json.dump({"encoder": encoder, "backend": backend, "versions": _versions(backend)}, fh)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished first: keep theirs
            if not (folder / GRAPH_FILE[backend]).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


# ---------------------------------------------------------------------------------------------------- load


def _load_torch(encoder: str, backend: str, max_seq_length: int, device: str = "cpu") -> Any:
    import torch
    from sentence_transformers import SentenceTransformer

    kwargs = {"dtype": torch.bfloat16} if backend == "bf16" else {}
    try:
        model = SentenceTransformer(resolve_encoder(encoder), device=device, model_kwargs=kwargs)
    except (OSError, ValueError) as e:
        raise UserError(f"encoder {encoder!r}: cannot load: {str(e).splitlines()[0]}") from None
    if max_seq_length:
        model.max_seq_length = max_seq_length
    return model


def _runtime(folder: Path, backend: str) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """A function from input arrays to the last hidden state, running the exported graph."""
    if backend.startswith("onnx"):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        return lambda feeds: session.run(None, feeds)[0]
    import openvino as ov

    config = {"PERFORMANCE_HINT": "LATENCY"}
    if backend in ("openvino", "openvino-bf16"):
        # OpenVINO picks bf16 by default on CPUs with native bf16: say which one is meant ("openvino" is the fp32
        # graph as exported; "openvino-bf16" the same graph with bf16 matrix products).
        config["INFERENCE_PRECISION_HINT"] = "bf16" if backend == "openvino-bf16" and cpu_has_bf16() else "f32"
    compiled = ov.Core().compile_model(str(folder / "model.xml"), "CPU", config)
    return lambda feeds: compiled(feeds)[0]


def _install_runtime(model: Any, run: Callable[[dict[str, np.ndarray]], np.ndarray]) -> None:
    """Swap the SentenceTransformer's transformer for the exported graph; everything around it stays."""
    import torch

    names = _input_names(model)
    hf = model[0].model

    class Exported(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = hf.config

        def forward(self, input_ids, attention_mask, token_type_ids=None, **_: Any):  # type: ignore[no-untyped-def]
            feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
            if "token_type_ids" in names:
                tt = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
                feeds["token_type_ids"] = tt.numpy()
            return {"last_hidden_state": torch.from_numpy(np.asarray(run(feeds), dtype=np.float32))}

    model[0].model = Exported()


def load(encoder: str, backend: str, device: str = "cpu", max_seq_length: int = 0) -> Any:
    """A SentenceTransformer for ``backend``; exported backends run on CPU, export on first use."""
    if backend in TORCH_BACKENDS:
        return _load_torch(encoder, backend, max_seq_length, device)
    if backend not in EXPORTED_BACKENDS:
        raise UserError(f"--encoder-backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if device != "cpu":
        raise UserError(f"--encoder-backend {backend} runs on CPU; use fp32 or bf16 with --device {device}")
    model = _load_torch(encoder, "fp32", max_seq_length)
    folder = ensure_export(encoder, backend, model)
    _install_runtime(model, _runtime(folder, backend))
    return model


# ---------------------------------------------------------------------------------------------------- auto


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
    installed = [b for b in EXPORTED_BACKENDS if missing_package(b) is None]
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
                      str(cpu_has_bf16()), str(os.cpu_count()), *(_versions(b) for b in installed),
                      *(["pool", *sample] if sample is not None else []))[:16]  # fmt: skip
    path = cache_dir() / "encoders" / f"auto-{_slug(encoder)}-{key}.json"
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
