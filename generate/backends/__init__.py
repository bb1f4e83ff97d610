"""Moved: the LLM backends live in the ground package, `codecurate.llm`, since eval uses them too and a stage never
imports another stage. This package and its modules (base, hf, openai, vllm) are those modules under their old
names, so existing imports keep working; new code imports `codecurate.llm`.
"""

from __future__ import annotations

from codecurate.llm import BACKENDS, Backend, load_backend  # noqa: F401 (re-exported under the old name)
