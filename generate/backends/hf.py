"""Moved to `codecurate.llm.hf`; this old name is that same module (one set of classes, patches reach both)."""

import sys

from codecurate.llm import hf

sys.modules[__name__] = hf
