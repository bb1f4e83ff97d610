"""Typed stage configs: one dataclass per stage, exposed as CLI flags and as a YAML section.

Each field's ``metadata`` may hold ``help``, ``choices``, ``aliases`` (e.g. ``["-o"]``) and ``positional``.
Precedence is dataclass default < YAML (``--config``) < flags given on the command line. Unknown YAML keys and
ill-typed values are errors that name the file and key. HfArgumentParser does most of this but has no
positional arguments, and `codecurate mine SRC...` wants them, hence these 100 lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from codecurate.errors import UserError

T = TypeVar("T")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one argument per dataclass field. Defaults are suppressed so `parse` can tell given from absent."""
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("cli") is False:
            continue
        tp, _ = _unwrap_optional(hints[f.name])
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
            parser.add_argument(f.name, metavar=f.name.upper(), **kwargs)
        else:
            flag = "--" + f.name.replace("_", "-")
            parser.add_argument(flag, *f.metadata.get("aliases", ()), dest=f.name, **kwargs)


def _help(f: dataclasses.Field) -> str:
    text = f.metadata.get("help", "")
    if f.default is not dataclasses.MISSING:
        text += f" (default: {f.default})"
    elif f.default_factory is not dataclasses.MISSING:
        text += f" (default: {f.default_factory()})"
    return text.replace("%", "%%")


def from_dict(cls: type[T], values: dict[str, Any], source: str = "config") -> T:
    """Build a config dataclass from a mapping, casting simple types; unknown keys are a `UserError`."""
    hints = _field_types(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{source}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    kwargs = {k: _cast(v, hints[k], f"{source}: key '{k}'") for k, v in values.items()}
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
    fields = {f.name for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in fields})
    return from_dict(cls, values, source)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config as a plain dict (for manifests and hashing)."""
    return dataclasses.asdict(cfg)
