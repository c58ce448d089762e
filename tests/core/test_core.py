"""The contract layer's small parts: registries, the config builder, progress and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from videothat.core.configs import build_config, check_fields, config_keys, defaults_of
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


@dataclass(frozen=True, kw_only=True)
class Checked:
    BOUNDS: ClassVar[dict] = {"size": (1, 10), "speed": (0.0, 2.0), "sizes": (1, 5)}
    size: int = 3
    speed: float = 1.0
    limit: float | None = None
    name: str = "x"
    flag: bool = True
    sizes: tuple[int, ...] = (1, 2)
    pair: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        check_fields(self)


@pytest.mark.parametrize(("kw", "message"), [
    ({"size": 11}, "size=11 must be in [1, 10]"), ({"size": True}, "size=True must be an integer"),
    ({"size": 2.0}, "size=2.0 must be an integer"), ({"speed": float("nan")}, "speed=nan must be a finite number"),
    ({"speed": "fast"}, "speed='fast' must be a finite number"), ({"limit": float("inf")}, "limit=inf"),
    ({"name": None}, "name=null is not allowed"), ({"flag": "yes"}, "flag='yes' must be true or false"),
    ({"sizes": [1, 9]}, "sizes=[1, 9] must be in [1, 5]"), ({"pair": [1.0]}, "pair=[1.0] must be a list of 2"),
    ({"pair": (0.0, "a")}, "pair='a' must be a finite number"),
])
def test_check_fields_names_the_field_and_value(kw, message):
    with pytest.raises(ParameterError) as caught:
        Checked(**kw)
    assert message in str(caught.value)


def test_check_fields_normalises_numbers_and_lists():
    made = Checked(speed=1, limit=2, sizes=[3, 4], pair=[0, 1])
    assert (made.speed, made.limit, made.sizes, made.pair) == (1.0, 2.0, (3, 4), (0.0, 1.0))
    assert type(made.speed) is float and type(made.pair[0]) is float
    with pytest.raises(ParameterError, match=r"^sec\.size=12 must be in"):
        build_config(Checked, {"size": 12}, "sec")
