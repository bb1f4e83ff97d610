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

``auto`` (curate/encoder_auto.py) measures the installed backends against fp32 and picks the fastest that keeps
enough neighbours. A backend asked for by name whose package is missing is replaced by the PyTorch backend with
one warning.
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
import warnings
from collections.abc import Callable, Sequence
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


# ---------------------------------------------------------------------------------------------------- export


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip("/").split("/")[-1])[:48] or "model"


def package_versions(backend: str) -> str:
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
                      package_versions(backend))[:12]  # fmt: skip
    return cache_dir() / "encoders" / f"{slug(encoder)}-{backend}-{key}"


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
            json.dump({"encoder": encoder, "backend": backend, "versions": package_versions(backend)}, fh)
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
