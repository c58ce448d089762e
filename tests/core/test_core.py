"""The contract layer's small parts: registries, the config builder, progress and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from videothat.core.configs import build_config, config_keys, defaults_of
from videothat.core.errors import ParameterError
from videothat.core.progress import Fraction, NoProgress, Progress, timed
from videothat.core.registry import Registry


def test_registry_finds_by_name_and_names_the_choices():
    things: Registry[type] = Registry("widget")

    @things.register("round")
    class Round:
        pass

    assert things.get("round") is Round and "round" in things and things.names == ("round",)
    with pytest.raises(ParameterError, match=r"unknown widget 'square'; choose one of round"):
        things.get("square")
    with pytest.raises(ValueError, match="twice"):
        things.register("round")(Round)


@dataclass(frozen=True, kw_only=True)
class Inner:
    size: int = 3

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ParameterError(f"size={self.size} must be >= 0")


@dataclass(frozen=True, kw_only=True)
class Other:
    speed: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)


@dataclass(frozen=True, kw_only=True)
class Flat:
    FLAT: ClassVar[tuple[str, ...]] = ("inner", "other")
    inner: Inner = field(default_factory=Inner)
    other: Other = field(default_factory=Other)


def test_build_config_nested_and_flat():
    assert build_config(Outer, {"inner": {"size": 5}}, "sec") == Outer(inner=Inner(size=5))
    assert build_config(Flat, {"size": 2, "speed": 0.5}, "sec") == Flat(inner=Inner(size=2), other=Other(speed=0.5))
    assert config_keys(Flat) == {"size", "speed"} and defaults_of(Flat) == {"size": 3, "speed": 1.0}
    assert defaults_of(Outer) == {"name": "x", "inner": {"size": 3}}


@pytest.mark.parametrize(("values", "word"), [({"colour": 1}, "sec.colour"), ({"inner": {"shape": 1}}, "sec.inner.shape"),
                                              ({"inner": {"size": -1}}, "size=-1")])
def test_build_config_rejects_unknown_keys_and_bad_values(values, word):
    with pytest.raises(ParameterError, match=word):
        build_config(Outer, values, "sec")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, stage: str, total: float, unit: str) -> None:
        self.events.append(("start", stage, total, unit))

    def advance(self, stage: str, amount: float = 1.0, status: str | None = None) -> None:
        self.events.append(("advance", stage, amount, status))

    def finish(self, stage: str) -> None:
        self.events.append(("finish", stage))


def test_progress_protocol_fraction_and_timed():
    assert isinstance(Recorder(), Progress) and isinstance(NoProgress(), Progress)
    rec = Recorder()
    report = Fraction(rec, "match")
    for f in (0.1, 0.1, 0.5, 1.2):
        report(f)
    assert rec.events == [("start", "match", 100, "%"), ("advance", "match", 10, None),
                          ("advance", "match", 40, None), ("advance", "match", 50, None)]
    seconds: dict[str, float] = {}
    with timed("a", seconds):
        pass
    with pytest.raises(KeyError), timed("a", seconds):
        raise KeyError
    assert set(seconds) == {"a"} and seconds["a"] >= 0
