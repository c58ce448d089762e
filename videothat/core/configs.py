"""Config dataclasses built from plain mappings (a composed Hydra config, a JSON file).

:func:`build_config` checks every key, so a typo in an override is an error naming the key
rather than a silently ignored value; a field whose type is itself a config dataclass is
built from a nested mapping (``index.timbre.blocks``). A class may list in ``FLAT`` the
dataclass fields that share its one flat section (``match.floor`` is a score key,
``match.beam_width`` a search key).

:func:`check_fields` is the one generic check every config's ``__post_init__`` starts with:
each field holds a value of its annotated type (a float finite, an int not a bool), and each
number the class's ``BOUNDS`` names lies in its range, so no value that would exhaust memory
or poison a cache key gets past construction. The rest of ``__post_init__`` checks what
involves several fields.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from videothat.core.errors import ParameterError

C = TypeVar("C")
Bounds = Mapping[str, tuple[float, float]]  # field -> closed [low, high]


def _config_fields(cls: type) -> dict[str, type | None]:
    """Field name -> the field's config dataclass type (None for a plain value)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] if dataclasses.is_dataclass(hints.get(f.name)) else None
            for f in dataclasses.fields(cls) if f.init}


def config_keys(cls: type) -> set[str]:
    """The keys a mapping for ``cls`` may hold (flattened ``FLAT`` parts included)."""
    keys = set()
    flat = getattr(cls, "FLAT", ())
    for name, sub in _config_fields(cls).items():
        keys |= config_keys(sub) if name in flat else {name}
    return keys


def build_config(cls: type[C], values: Mapping[str, Any] | None, section: str) -> C:
    """``cls(**values)`` with nested configs built too; unknown keys and bad values raise
    :class:`ParameterError` naming ``section.key``."""
    values = dict(values or {})
    fields, flat = _config_fields(cls), getattr(cls, "FLAT", ())
    unknown = sorted(set(values) - config_keys(cls))
    if unknown:
        raise ParameterError(f"unknown key(s) {', '.join(f'{section}.{k}' for k in unknown)}; "
                             f"known: {', '.join(sorted(config_keys(cls)))}")
    kwargs: dict[str, Any] = {}
    for name in flat:
        mine = config_keys(fields[name])
        kwargs[name] = build_config(fields[name], {k: values.pop(k) for k in list(values) if k in mine}, section)
    for name, value in values.items():
        sub = fields[name]
        if sub is not None and isinstance(value, Mapping):
            value = build_config(sub, value, f"{section}.{name}")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ParameterError(f"{section}: {exc}") from exc
    except ParameterError as exc:
        raise ParameterError(_in_section(str(exc), section, config_keys(cls))) from exc


def _in_section(message: str, section: str, keys: set[str]) -> str:
    """``message`` naming its key in full: ``n_fft=9 ...`` -> ``audio.n_fft=9 ...``; a message
    that names no key of ``section`` first gets ``section: `` in front."""
    if message.startswith(f"{section}."):
        return message
    key = message.split("=", 1)[0]
    return f"{section}.{message}" if key in keys else f"{section}: {message}"


def check_fields(config: object) -> None:
    """Check every field of the config dataclass instance ``config`` (call it first in
    ``__post_init__``): its value has the field's annotated type (``int``: an integer, not a
    bool; ``float``: a finite number, an int stored as a float so ``0`` and ``0.0`` make one
    cache key; ``bool``; ``str``; ``X | None``; ``tuple[T, ...]``, a list stored as a tuple),
    and each number named in the class's ``BOUNDS`` lies in its closed range (for a tuple,
    every element).

    Raises
    ------
    ParameterError : naming the field and the value (``n_fft=100000000 must be in [16, 16384]``).
    """
    bounds: Bounds = getattr(type(config), "BOUNDS", {})
    for name, hint in _field_hints(type(config)).items():
        value = getattr(config, name)
        checked = _checked(name, value, hint)
        if checked is not value:
            object.__setattr__(config, name, checked)
        if name in bounds and checked is not None:
            lo, hi = bounds[name]
            for number in checked if isinstance(checked, tuple) else (checked,):
                if not lo <= number <= hi:
                    raise ParameterError(f"{name}={_show(value)} must be in [{_show(lo)}, {_show(hi)}]")


@functools.cache
def _field_hints(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _checked(name: str, value: object, hint: object) -> object:
    """``value`` as the type ``hint`` wants it (ints as floats, lists as tuples), or raise."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ParameterError(f"{name}=null is not allowed: give a value")
    for option in options:
        if option is type(None):
            continue
        if typing.get_origin(option) is tuple and isinstance(value, list | tuple):
            return tuple(_checked(name, v, t) for v, t in zip(value, _item_types(name, option, value), strict=True))
        ok = _as_type(name, value, option)
        if ok is not _WRONG:
            return ok
    wanted = " or ".join(_type_name(o) for o in options)
    raise ParameterError(f"{name}={_show(value)} must be {wanted}")


_WRONG = object()


def _item_types(name: str, option: object, value: list | tuple) -> list[object]:
    """The type of each item of ``value`` for a ``tuple[...]`` hint."""
    args = typing.get_args(option)
    if len(args) == 2 and args[1] is Ellipsis:
        return [args[0]] * len(value)
    if args and len(args) != len(value):
        raise ParameterError(f"{name}={list(value)} must be a list of {len(args)} values")
    return list(args) or [object] * len(value)


def _as_type(name: str, value: object, option: object) -> object:
    """``value`` as ``option`` (a plain type), or ``_WRONG`` when it is not one."""
    if option is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _WRONG
        if not math.isfinite(value):
            raise ParameterError(f"{name}={value} must be a finite number")
        return float(value)
    if option is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _WRONG
    if isinstance(option, type):
        return value if isinstance(value, option) else _WRONG
    return value  # Any, a type variable, ...: not checked here


def _type_name(option: object) -> str:
    names = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string",
             type(None): "null"}
    if typing.get_origin(option) is tuple:
        return "a list"
    return names.get(option, getattr(option, "__name__", str(option)))


def _show(value: object) -> str:
    if isinstance(value, float) and abs(value) >= 1e6:
        return f"{value:g}"
    return repr(value) if isinstance(value, str | float) else str(value)


def defaults_of(cls: type) -> dict[str, Any]:
    """The defaults of ``cls`` as the mapping :func:`build_config` takes (flat parts flattened)."""
    out: dict[str, Any] = {}
    fields, flat = _config_fields(cls), getattr(cls, "FLAT", ())
    instance = cls()
    for name, sub in fields.items():
        value = getattr(instance, name)
        if name in flat:
            out.update(defaults_of(sub))
        else:
            out[name] = dataclasses.asdict(value) if sub is not None else value
    return out
