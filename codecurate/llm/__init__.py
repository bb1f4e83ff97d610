"""LLM backends behind one interface (`base.Backend`): pick one by name with `load_backend`.

Each backend module imports its heavy library (torch, vllm, httpx) only when it is constructed, so listing the
kinds or parsing a config costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from codecurate.errors import UserError
from codecurate.llm.base import Backend

# kind -> (module, class). A literal dict so the kinds are visible at a glance.
BACKENDS: dict[str, tuple[str, str]] = {
    "transformers": ("codecurate.llm.hf", "TransformersBackend"),
    "vllm": ("codecurate.llm.vllm", "VLLMBackend"),
    "openai": ("codecurate.llm.openai", "OpenAIBackend"),
}


def load_backend(kind: str, model: str, **options: Any) -> Backend:
    """Build the backend `kind` for `model`; `options` are the backend's keyword arguments (from YAML)."""
    if kind not in BACKENDS:
        raise UserError(f"unknown backend {kind!r}; choose one of {', '.join(BACKENDS)}")
    module, cls_name = BACKENDS[kind]
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        return cls(model, **options)
    except TypeError as e:  # an option the backend does not take
        raise UserError(f"backend {kind}: bad option: {e}") from None
