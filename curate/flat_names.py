"""Flat names for a curate config's sections, for Python callers written before the configs got sections.

Flags and YAML keys stay flat through `codecurate.config` itself; this decorator does the same for code:
``MineConfig(src=[...], min_lines=1, executor="ray")`` builds the ``filters`` and ``ray`` sections, and
``cfg.executor`` reads (and assigning it writes) ``cfg.ray.executor``. New code should use the sections.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

from codecurate.config import flat_fields

C = TypeVar("C")


def flat_names(cls: type[C]) -> type[C]:
    """Make the leaves of `cls`'s sections constructor keywords and attributes under their flat keys."""
    leaves = {key: path for key, (path, _, _) in flat_fields(cls).items() if len(path) > 1}
    init = cls.__init__

    factories = {f.name: f.default_factory for f in dataclasses.fields(cls)}  # type: ignore[arg-type]

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        by_section: dict[str, dict[str, Any]] = {}
        for key in [k for k in kwargs if k in leaves]:
            section, leaf = leaves[key]  # curate's sections hold no sections
            by_section.setdefault(section, {})[leaf] = kwargs.pop(key)
        for section, values in by_section.items():
            # A copy: a section passed whole (or a default) is never changed under its other holders.
            kwargs[section] = dataclasses.replace(kwargs.get(section) or factories[section](), **values)
        init(self, *args, **kwargs)

    def __getattr__(self: Any, name: str) -> Any:  # only called when normal lookup fails
        path = leaves.get(name)
        if path is None:
            raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")
        value = self
        for part in path:
            value = getattr(value, part)
        return value

    def __setattr__(self: Any, name: str, value: Any) -> None:
        path = leaves.get(name)
        if path is None:
            object.__setattr__(self, name, value)
            return
        target = self
        for part in path[:-1]:
            target = getattr(target, part)
        setattr(target, path[-1], value)

    cls.__init__ = __init__  # type: ignore[method-assign]
    cls.__getattr__ = __getattr__  # type: ignore[attr-defined]
    cls.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
    return cls
