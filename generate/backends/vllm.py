"""Moved to `codecurate.llm.vllm`; this old name is that same module (one set of classes, patches reach both)."""

import sys

from codecurate.llm import vllm

sys.modules[__name__] = vllm
