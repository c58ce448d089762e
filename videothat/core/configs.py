"""Config dataclasses built from plain mappings (a composed Hydra config, a JSON file).

:func:`build_config` checks every key, so a typo in an override is an error naming the key
rather than a silently ignored value; a field whose type is itself a config dataclass is
built from a nested mapping (``index.timbre.blocks``). A class may list in ``FLAT`` the
dataclass fields that share its one flat section (``match.floor`` is a score key,
``match.beam_width`` a search key).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from videothat.core.errors import ParameterError

C = TypeVar("C")


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
