"""Moved to `codecurate.llm.openai`; this old name is that same module (one set of classes, patches reach both)."""

import sys

from codecurate.llm import openai

sys.modules[__name__] = openai
