"""Typed stage configs: one dataclass per stage, exposed as CLI flags and as a YAML section.

Each field's ``metadata`` may hold ``help``, ``choices``, ``aliases`` (e.g. ``["-o"]``) and ``positional``.
Precedence is dataclass default < YAML (``--config``) < flags given on the command line. Unknown YAML keys and
ill-typed values are errors that name the file and key.

A field whose type is itself a config dataclass is a *section* (one concern: Ray options, record filters, seed
tests). Its fields are flags of the stage under their own names, or ``metadata["prefix"]`` + name, so flags and
YAML keys stay flat and stable while the code reads ``cfg.ray.executor``. YAML may give a section either flat
(``ray_address: ...``) or nested (``ray: {ray_address: ...}``); ``to_dict`` writes the flat form, so manifests
keep their keys when a flat config is split into sections. HfArgumentParser does most of this but has no
positional arguments, and `codecurate mine SRC...` wants them, hence these 100 lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from codecurate.errors import UserError

T = TypeVar("T")
C = TypeVar("C")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _section(f: dataclasses.Field, tp: Any) -> type | None:
    """The config dataclass a field holds, if it is a section."""
    tp, _ = _unwrap_optional(tp)
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def flat_fields(cls: type, prefix: str = "") -> dict[str, tuple[tuple[str, ...], dataclasses.Field, Any]]:
    """Every leaf field of a config under its flat key: key -> (attribute path, field, type).

    A key that two sections both claim is a programming error, raised here (and by the config tests)."""
    hints = _field_types(cls)
    out: dict[str, tuple[tuple[str, ...], dataclasses.Field, Any]] = {}
    for f in dataclasses.fields(cls):
        sub = _section(f, hints[f.name])
        items = (
            {k: ((f.name, *path), ff, t) for k, (path, ff, t) in flat_fields(sub, f.metadata.get("prefix", "")).items()}
            if sub
            else {f.name: ((f.name,), f, hints[f.name])}
        )
        for key, value in items.items():
            if prefix + key in out:
                raise TypeError(f"{cls.__name__}: flat key {prefix + key!r} is claimed twice")
            out[prefix + key] = value
    return out


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one argument per leaf field (sections flattened). Defaults are suppressed so `parse` can tell given
    from absent."""
    for key, (_, f, hint) in flat_fields(cls).items():
        if f.metadata.get("cli") is False:
            continue
        tp, _ = _unwrap_optional(hint)
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "help": _help(f)}
        if get_origin(tp) is Literal:
            kwargs["choices"] = list(get_args(tp))
            tp = type(get_args(tp)[0])
        elif "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        if get_origin(tp) in (list, tuple):
            (item,) = get_args(tp)[:1]
            kwargs["type"] = item if item in (int, float) else str
            kwargs["nargs"] = "*"
        elif tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif tp in (int, float):
            kwargs["type"] = tp
        elif tp is dict or get_origin(tp) is dict:
            continue  # dict-valued settings come from YAML only
        else:
            kwargs["type"] = str
        if f.metadata.get("positional"):
            parser.add_argument(key, metavar=key.upper(), **kwargs)
        else:
            flag = "--" + key.replace("_", "-")
            parser.add_argument(flag, *f.metadata.get("aliases", ()), dest=key, **kwargs)


def _help(f: dataclasses.Field) -> str:
    text = f.metadata.get("help", "")
    if f.default is not dataclasses.MISSING:
        text += f" (default: {f.default})"
    elif f.default_factory is not dataclasses.MISSING:
        text += f" (default: {f.default_factory()})"
    return text.replace("%", "%%")


def from_dict(cls: type[T], values: dict[str, Any], source: str = "config") -> T:
    """Build a config dataclass from a mapping, casting simple types; unknown keys are a `UserError`.

    Section values may come flat (their flat keys at this level) or nested (a mapping under the section's
    name); both at once for the same key is an error."""
    return _build(cls, _nest(cls, values, source), source)


def _nest(cls: type, values: dict[str, Any], source: str) -> dict[str, Any]:
    """Flat keys routed into their sections' mappings; nested section mappings merged in."""
    flat = flat_fields(cls)
    hints = _field_types(cls)
    sections = {f.name: f for f in dataclasses.fields(cls) if _section(f, hints[f.name])}
    nested: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in values.items():
        if key in sections and isinstance(value, dict):
            sub = _section(sections[key], hints[key])
            prefix = sections[key].metadata.get("prefix", "")
            inner = _flatten_values(sub, value, f"{source}: section '{key}'")
            for k, v in inner.items():
                _put(nested, (key, *flat_fields(sub)[k][0]), v, f"{source}: key '{prefix + k}'")
        elif key in flat:
            _put(nested, flat[key][0], value, f"{source}: key '{key}'")
        else:
            unknown.append(key)
    if unknown:
        known = sorted(set(flat) | set(sections))
        raise UserError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    return nested


def _flatten_values(cls: type, values: dict[str, Any], source: str) -> dict[str, Any]:
    """A nested section mapping as that section's own flat keys (its sub-sections flattened too)."""
    nested = _nest(cls, values, source)
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        for k, v in node.items():
            if isinstance(v, _Nested):
                walk(v, (*path, k))
            else:
                key = next(fk for fk, (p, _, _) in flat_fields(cls).items() if p == (*path, k))
                out[key] = v

    walk(nested, ())
    return out


class _Nested(dict):
    """A section's values while a config is being built (told apart from dict-valued settings)."""


def _put(tree: dict[str, Any], path: tuple[str, ...], value: Any, where: str) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, _Nested())
    if path[-1] in tree:
        raise UserError(f"{where}: given twice (flat and inside its section)")
    tree[path[-1]] = value


def _build(cls: type[T], values: dict[str, Any], source: str) -> T:
    hints = _field_types(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        sub = _section(f, hints[f.name])
        value = values[f.name]
        kwargs[f.name] = _build(sub, value, source) if sub else _cast(value, hints[f.name], f"{source}: key '{f.name}'")
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required field is missing
        raise UserError(f"{source}: {e}") from None


def _cast(value: Any, tp: Any, where: str) -> Any:
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise UserError(f"{where}: must not be null")
    origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            raise UserError(f"{where}: {value!r} is not one of {', '.join(map(repr, get_args(tp)))}")
        return value
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list | tuple):
            raise UserError(f"{where}: expected a list, got {type(value).__name__}")
        (item,) = get_args(tp)[:1]
        return [_cast(v, item, where) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true or false, got {value!r}")
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise UserError(f"{where}: expected a number, got {value!r}")
        try:
            return tp(value)
        except ValueError:
            raise UserError(f"{where}: expected {tp.__name__}, got {value!r}") from None
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping, got {type(value).__name__}")
        return value
    if tp in (str, Path):
        return str(value)
    return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with one-line errors."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"{path}: cannot read config: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: config is not valid UTF-8") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{path}{line}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at top level")
    return data


def parse(cls: type[T], args: argparse.Namespace, section: str | None = None) -> T:
    """Merge YAML (``args.config``, optionally one `section` of it) with the flags given on the command line."""
    values: dict[str, Any] = {}
    source = "command line"
    config_path = getattr(args, "config", None)
    if config_path:
        data = load_yaml(config_path)
        if section is not None and section in data:
            data = data[section] or {}
            if not isinstance(data, dict):
                raise UserError(f"{config_path}: section '{section}' must be a mapping")
        values.update(data)
        source = f"{config_path}" + (f" [{section}]" if section else "")
    given = {k: v for k, v in vars(args).items() if k in flat_fields(cls)}
    if given:
        # Flags win over YAML, whichever form (flat or nested) the YAML used for the same key.
        values = _flatten_values(cls, values, source) | given
    return from_dict(cls, values, source)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config as a plain dict of its flat keys (for manifests, hashing and YAML round trips)."""
    out: dict[str, Any] = {}
    for key, (path, _, _) in flat_fields(type(cfg)).items():
        value: Any = cfg
        for part in path:
            value = getattr(value, part)
        out[key] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return out


def flat_names(cls: type[C]) -> type[C]:
    """Keep a config's pre-section Python names working, as deprecated aliases.

    Flags and YAML keys stay flat through `from_dict` itself; this does the same for code written before the
    config got sections: ``MineConfig(src=[...], min_lines=1, executor="ray")`` fills the ``filters`` and ``ray``
    sections (a section passed whole is copied first, so its other holders never see the change), and reading or
    writing ``cfg.executor`` reaches ``cfg.ray.executor`` with a DeprecationWarning naming the new place."""
    leaves = {key: path for key, (path, _, _) in flat_fields(cls).items() if len(path) > 1}
    own = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    factories = {f.name: f.default_factory for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    init = cls.__init__

    def moved(name: str) -> tuple[str, ...]:
        path = leaves[name]
        warnings.warn(f"{cls.__name__}.{name} is deprecated; use .{'.'.join(path)}", DeprecationWarning, stacklevel=3)
        return path

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        by_section: dict[str, dict[str, Any]] = {}
        for key in [k for k in kwargs if k not in own]:
            if key not in leaves:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
            section, *rest = leaves[key]
            if len(rest) != 1:
                raise TypeError(f"{cls.__name__}: {key!r} is nested too deep for a flat keyword")
            by_section.setdefault(section, {})[rest[0]] = kwargs.pop(key)
        for section, values in by_section.items():
            base = kwargs.get(section) or factories[section]()  # type: ignore[misc]
            kwargs[section] = dataclasses.replace(base, **values)  # runs the section's own checks
        init(self, *args, **kwargs)

    def __getattr__(self: Any, name: str) -> Any:  # called only when normal lookup fails
        if name not in leaves:
            raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")
        value = self
        for part in moved(name):
            value = getattr(value, part)
        return value

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if name not in leaves:
            object.__setattr__(self, name, value)
            return
        *parents, leaf = moved(name)
        target = self
        for part in parents:
            target = getattr(target, part)
        setattr(target, leaf, value)

    cls.__init__ = __init__  # type: ignore[method-assign]
    cls.__getattr__ = __getattr__  # type: ignore[attr-defined]
    cls.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
    return cls
