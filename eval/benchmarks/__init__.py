"""Benchmarks the eval stage knows, as a literal registry: name -> (module, fixed keyword arguments of ``load``).

A benchmark module holds: a docstring naming the paper and source, ``CITATION``, ``STOP_WORDS``,
``load(data_dir, variant, ...) -> list[doc]`` (with its dataset-size check), ``prompt(doc)`` (completion style),
``instruction(doc)`` (chat style), ``extract(doc, text, style) -> completion``, ``program(doc, completion,
token) -> (program, language)`` (the program prints ``mark_line(token)`` after its last test: ``marks.py``),
and optionally ``canonical(doc)``, ``followup(doc, first_answer)`` (a second turn), ``unavailable(variant) ->
reason | None`` and ``CHAT_ONLY``. Specs on the command line are ``name[:variant]``,
e.g. ``mbpp:full``, ``humanevalpack-fix:js``, ``multipl-e:lua``. ``template.py`` is a scaffold for a new one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from codecurate.errors import UserError

_PKG = "codecurate.eval.benchmarks"
REGISTRY: dict[str, tuple[str, dict[str, Any]]] = {
    "humaneval": (f"{_PKG}.humaneval", {}),
    "mbpp": (f"{_PKG}.mbpp", {}),
    "humanevalpack-fix": (f"{_PKG}.humanevalpack", {"task": "fix"}),
    "humanevalpack-explain": (f"{_PKG}.humanevalpack", {"task": "explain"}),
    "multipl-e": (f"{_PKG}.multiple", {}),
}


@dataclass
class Benchmark:
    spec: str  # as given, e.g. "multipl-e:lua"; the key in summaries and samples
    module: ModuleType
    variant: str | None = None
    load_kwargs: dict[str, Any] = field(default_factory=dict)

    def load(self, data_dir: str | None = None) -> list[dict]:
        return self.module.load(data_dir, self.variant, **self.load_kwargs)

    def unavailable(self) -> str | None:
        check = getattr(self.module, "unavailable", None)
        return check(self.variant) if check else None


def get(spec: str) -> Benchmark:
    """Resolve ``name[:variant]`` against `REGISTRY`."""
    name, _, variant = spec.strip().partition(":")
    if name not in REGISTRY:
        raise UserError(f"unknown benchmark {name!r}; known: {', '.join(REGISTRY)}")
    module_name, kwargs = REGISTRY[name]
    return Benchmark(spec.strip(), importlib.import_module(module_name), variant or None, dict(kwargs))
