"""Moved to `codecurate.llm.base`; this old name is that same module (one set of classes, patches reach both)."""

import sys

from codecurate.llm import base

sys.modules[__name__] = base
