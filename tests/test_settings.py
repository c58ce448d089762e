"""The YAML groups in videothat/configs are the one source of defaults.

Every group composes and builds its typed config object; every group's keys and values are
its dataclass's fields and defaults exactly (no key missing on either side); every key line
says in a comment what it means; every override the README and docs/ show composes and
builds; and docs/configuration.md's table is what ``scripts/config_table.py`` writes now.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import itertools
import re
from pathlib import Path

import pytest

from train.config import TrainConfig
from videothat.analysis import AnalysisConfig
from videothat.audio.augment import AugmentConfig
from videothat.audio.config import EmbedConfig, NoveltyConfig
from videothat.core.configs import defaults_of
from videothat.core.errors import ParameterError
from videothat.index.config import IndexConfig, LandmarkConfig
from videothat.match.config import MatchConfig, MosaicConfig, MusicConfig, SoundtrackConfig
from videothat.media.config import RenderConfig
from videothat.media.shots import ShotConfig
from videothat.settings import (
    CONFIG_DIR,
    analysis_config,
    compose_config,
    configs,
    event_config,
    index_config,
    match_config,
    mosaic_config,
    music_config,
    render_config,
    soundtrack_config,
)
from videothat.vision.config import EventConfig, MotionConfig
from videothat.vision.encoders import VideoEncoder
from videothat.vision.people import PersonConfig

ROOT = Path(__file__).resolve().parents[1]
ENCODER_TARGET = f"{VideoEncoder.__module__}.{VideoEncoder.__qualname__}"
FIT_GROUPS = ("embed", "augment", "train", "encoder", "experiment")  # composed by config_name="fit"
PLACEHOLDER = "placeholder"


# -- every group composes and builds (the tests of the former tests/test_configs.py) ---------------

@pytest.mark.parametrize("overrides", [[], ["shots=adaptive"], ["index.encoder=timbre", "index.timbre.blocks=4",
                                                                 "index.type=IVF256,PQ32"]])
def test_every_group_composes_and_builds(overrides):
    cfg = compose_config(overrides)
    analysis_config(cfg), match_config(cfg), render_config(cfg)
    index = index_config(cfg["index"])
    if overrides and overrides[0].startswith("index"):
        assert index.encoder == "timbre" and index.timbre.blocks == 4 and index.type == "IVF256,PQ32"


@pytest.mark.parametrize(("override", "word"), [("+index.colour=red", "index.colour"),
                                                ("+index.timbre.speed=2", "index.timbre.speed"),
                                                ("index.k=0", "index.k"), ("index.rhythm.hop=9", "hop")])
def test_bad_index_values_name_the_key(override, word):
    with pytest.raises(ParameterError, match=word):
        index_config(compose_config([override])["index"])


def test_match_keys_in_yaml_override_from_the_cli():
    cfg = compose_config(["match.floor=0.1", "match.speed_min=0.85", "match.speed_max=1.2", "match.compress=log"])
    built = match_config(cfg)
    assert built.score.floor == 0.1 and built.score.compress == "log"
    assert (built.search.speed_min, built.search.speed_max) == (0.85, 1.2)
    with pytest.raises(ParameterError, match="speed_min"):
        match_config(compose_config(["match.speed_min=1.5"]))


# -- the YAML defaults are the dataclass defaults -------------------------------------------------

def _typed(value):
    """``value`` with tuples as lists and every scalar tagged with its type, so that 27 (int) and
    27.0 (float), or 1 and true, differ as they do in a cache key."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_typed(v) for v in value]
    return type(value).__name__, value


def _train_defaults() -> dict:
    # TrainConfig() refuses its own defaults (train.manifest=??? must be given): read the fields
    return {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def _encoder_defaults() -> dict:
    # the encoder group holds the keyword arguments of VideoEncoder (hydra.utils.instantiate)
    return {name: p.default for name, p in inspect.signature(VideoEncoder).parameters.items()}


def _encoder_section(cfg: dict) -> dict:
    section = dict(cfg["encoder"])
    assert section.pop("_target_") == ENCODER_TARGET
    return section


# group -> (root config, composed section, its dataclass's defaults)
SECTIONS = {
    "audio": ("config", lambda cfg: cfg["audio"], lambda: defaults_of(NoveltyConfig)),
    "shots": ("config", lambda cfg: cfg["shots"], lambda: defaults_of(ShotConfig)),
    "analysis": ("config", lambda cfg: {**cfg["analysis"], "novelty": cfg["audio"], "shots": cfg["shots"],
                                        "device": cfg["device"], "motion": None},  # motion: from vision
                 lambda: defaults_of(AnalysisConfig)),
    "vision": ("config", lambda cfg: cfg["vision"], lambda: {"motion": defaults_of(MotionConfig),
                                                             "person": defaults_of(PersonConfig),
                                                             "events": defaults_of(EventConfig)}),
    "match": ("config", lambda cfg: cfg["match"], lambda: defaults_of(MatchConfig)),
    "index": ("config", lambda cfg: cfg["index"], lambda: defaults_of(IndexConfig)),
    "render": ("config", lambda cfg: cfg["render"], lambda: defaults_of(RenderConfig)),
    "mosaic": ("config", lambda cfg: cfg["mosaic"], lambda: defaults_of(MosaicConfig)),
    "soundtrack": ("config", lambda cfg: cfg["soundtrack"], lambda: defaults_of(SoundtrackConfig)),
    "music": ("config", lambda cfg: cfg["music"], lambda: defaults_of(MusicConfig)),
    "embed": ("fit", lambda cfg: cfg["embed"], lambda: defaults_of(EmbedConfig)),
    "augment": ("fit", lambda cfg: cfg["augment"], lambda: defaults_of(AugmentConfig)),
    "train": ("fit", lambda cfg: cfg["train"], _train_defaults),
    "encoder": ("fit", _encoder_section, _encoder_defaults),
}


@pytest.mark.parametrize("group", list(SECTIONS))
def test_yaml_defaults_are_the_dataclass_defaults(group):
    root, section, defaults = SECTIONS[group]
    composed, expected = section(compose_config([], config_name=root)), defaults()
    assert sorted(composed) == sorted(expected), f"{group}: keys differ"
    assert _typed(composed) == _typed(expected)


OPTIONS = [(p.parent.name, p.stem) for p in sorted(CONFIG_DIR.glob("*/*.yaml"))
           if p.parent.name != "experiment"]  # experiments hold only what differs


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_sets_every_key_and_builds(group, option):
    root = "fit" if group in FIT_GROUPS else "config"
    cfg = compose_config([f"{group}={option}"], config_name=root)
    _, section, defaults = SECTIONS[group]
    assert sorted(section(cfg)) == sorted(defaults())
    _build(cfg, root)


# -- every key line has a comment ------------------------------------------------------------------

KEY_LINE = re.compile(r"^(?P<indent> *)[\w.]+:(?P<rest>.*)$")


def _uncommented(path: Path) -> list[str]:
    """``key: value`` lines with neither a ``#`` comment after the value nor a comment line
    directly above; mapping headers (``key:``), list items and ``defaults:`` entries are exempt."""
    missing, previous, in_defaults = [], "", False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        match = KEY_LINE.match(line)
        if match and not match["indent"]:
            in_defaults = stripped.startswith("defaults:")
        if match and not in_defaults and not stripped.startswith("-"):
            rest = match["rest"]
            value = re.split(r"\s#", rest, maxsplit=1)[0].strip()
            if value and not re.search(r"\s#", rest) and not previous.startswith("#"):
                missing.append(f"{path.relative_to(CONFIG_DIR)}:{number}: {stripped}")
        previous = stripped
    return missing


YAML_FILES = sorted(CONFIG_DIR.rglob("*.yaml"))


@pytest.mark.parametrize("path", YAML_FILES, ids=[str(p.relative_to(CONFIG_DIR)) for p in YAML_FILES])
def test_every_key_line_has_a_comment(path):
    assert _uncommented(path) == []


# -- every override in the README and docs/ composes and builds ------------------------------------

GROUP_NAMES = sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir()) + ["device"]
OVERRIDE = re.compile(rf"(?<!\S)((?:{'|'.join(GROUP_NAMES)})(?:\.[\w.]+)?)=(\S+)")
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
SPAN = re.compile(r"`([^`]+)`")


def _snippets(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every command line of the fenced code blocks (``\\``-continued
    lines joined, shell comments dropped) and of every inline code span."""
    text, out = path.read_text(), []

    def blank(match: re.Match) -> str:
        first = text.count("\n", 0, match.start(1)) + 1
        joined, start = "", first
        for number, line in enumerate(match.group(1).split("\n"), first):
            joined, start = (joined + " " + line, start) if joined else (line, number)
            if line.rstrip().endswith("\\"):
                joined = joined.rstrip()[:-1]
                continue
            out.append((start, re.sub(r"(?<!\S)#.*", "", joined)))
            joined = ""
        return "\n" * match.group(0).count("\n")  # keep the line numbers of what follows

    rest = FENCE.sub(blank, text)
    out += [(rest.count("\n", 0, m.start()) + 1, m.group(1)) for m in SPAN.finditer(rest)]
    return out


def _values(value: str, sweep: bool) -> list[str]:
    """A documented value as the values it stands for: trailing punctuation dropped, ``a|b|c``
    as each choice, ``a,b`` of a ``-m`` sweep as each run, placeholder paths as a dummy."""
    value = value.rstrip("`.,;:)")
    values = value.split("|")
    if sweep:
        values = [v for alt in values for v in alt.split(",")]
    return [PLACEHOLDER + Path(v).suffix if "RUN/" in v or v.endswith((".safetensors", ".csv")) else v
            for v in values]


def _doc_cases() -> dict[tuple[str, ...], str]:
    """Override lists (those of one command line or code span, taken together) -> where documented."""
    cases: dict[tuple[str, ...], str] = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, snippet in _snippets(path):
            found = OVERRIDE.findall(snippet)
            if not found:
                continue
            sweep = bool(re.search(r"(?<!\S)(-m|--multirun)(?!\S)", snippet))
            choices = [[f"{key}={v}" for v in _values(value, sweep)] for key, value in found]
            for overrides in itertools.product(*choices):
                if "index.encoder=learned" in overrides and not any(
                        o.startswith("index.learned.checkpoint=") for o in overrides):
                    overrides += (f"index.learned.checkpoint={PLACEHOLDER}.safetensors",)  # IndexConfig needs one
                cases.setdefault(overrides, f"{path.relative_to(ROOT)}:{number}")
    return cases


DOC_CASES = _doc_cases()


def _build(cfg: dict, root: str) -> None:
    """Every typed config object of a composed root config (raises on a bad key or value)."""
    if root == "config":
        configs(cfg)
        mosaic_config(cfg)
        soundtrack_config(cfg)
        music_config(cfg)
        event_config(cfg)
        return
    EmbedConfig(**cfg["embed"])
    AugmentConfig(**cfg["augment"])
    train = dict(cfg["train"])
    TrainConfig.from_dict({**train, "manifest": PLACEHOLDER if train["manifest"] == "???" else train["manifest"]})
    inspect.signature(VideoEncoder).bind(**_encoder_section(cfg))


def test_the_docs_show_overrides():
    assert len(DOC_CASES) > 20 and any("shots=adaptive" in c for c in DOC_CASES)


@pytest.mark.parametrize("overrides", list(DOC_CASES), ids=[f"{w} {' '.join(o)}" for o, w in DOC_CASES.items()])
def test_documented_overrides_compose_and_build(overrides):
    groups = {o.split("=", 1)[0].split(".", 1)[0] for o in overrides} - {"device"}
    root = "fit" if groups & set(FIT_GROUPS) else "config"
    assert root == "config" or groups <= set(FIT_GROUPS), f"{DOC_CASES[overrides]} mixes both configs"
    _build(compose_config(list(overrides), config_name=root), root)


# -- docs/configuration.md's table is the generated one ---------------------------------------------

def _config_table():
    spec = importlib.util.spec_from_file_location("config_table", ROOT / "scripts" / "config_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_doc_table_is_generated_from_the_yaml():
    table = _config_table()
    doc = table.DOC.read_text()
    written = doc.split(table.BEGIN, 1)[1].split(table.END, 1)[0]
    assert written == "\n" + table.table(), "run python scripts/config_table.py"
    assert table.render(doc) == doc


def test_config_table_check_and_write(tmp_path, monkeypatch):
    table = _config_table()
    stale = tmp_path / "configuration.md"
    stale.write_text(f"intro\n{table.BEGIN}\n| old |\n{table.END}\nafter\n")
    monkeypatch.setattr(table, "DOC", stale)
    assert table.main(["--check"]) == 1 and "| old |" in stale.read_text()
    assert table.main([]) == 0 and table.main(["--check"]) == 0
    text = stale.read_text()
    assert text.startswith("intro\n") and text.endswith("after\n") and "| `match.floor` | `0.05` |" in text


def test_pictures_are_analysed_when_the_match_uses_them():
    assert analysis_config(compose_config([])).motion == MotionConfig()
    assert analysis_config(compose_config(["vision.motion.height=48"])).motion == MotionConfig(height=48)
    assert analysis_config(compose_config(["match.visual_weight=0"])).motion is None
    with pytest.raises(ParameterError, match="vision.motion"):
        analysis_config(compose_config(["+vision.motion.speed=3"]))
    with pytest.raises(ParameterError, match="visual_weight"):
        match_config(compose_config(["match.visual_weight=nan"]))


# -- every number is bounded and every float finite (checked before any work) -----------------------

def _config_classes() -> list[type]:
    """Every config dataclass (``...Config``) of the library and the training package, found
    by importing every module, so a new one is held to the same checks."""
    import pkgutil

    import train
    import videothat

    found = {}
    for package in (videothat, train):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            for name, obj in vars(importlib.import_module(module.name)).items():
                if isinstance(obj, type) and dataclasses.is_dataclass(obj) and name.endswith("Config") \
                        and obj.__module__ == module.name:
                    found[obj.__qualname__] = obj
    return [found[name] for name in sorted(found)]


CONFIG_CLASSES = _config_classes()
# numbers with a check of their own instead of a BOUNDS range (an open interval, a mode or a number)
UNBOUNDED = {("ScoreConfig", "subtract"), ("PersonConfig", "min_score")}


def _numeric_fields(cls) -> list[tuple[str, bool]]:
    """(name, holds floats) of every numeric field (tuples of numbers included)."""
    from typing import get_type_hints

    out = []
    for name, hint in get_type_hints(cls).items():
        text = str(hint)
        if name in {f.name for f in dataclasses.fields(cls)} and ("int" in text or "float" in text) \
                and not dataclasses.is_dataclass(hint):
            out.append((name, "float" in text))
    return out


def _make(cls, **kw):
    needs = {TrainConfig: {"manifest": PLACEHOLDER}, IndexConfig: {}}.get(cls, {})
    return cls(**{**needs, **kw})


FLOAT_FIELDS = [(cls, name) for cls in CONFIG_CLASSES for name, floats in _numeric_fields(cls) if floats]


@pytest.mark.parametrize(("cls", "name"), FLOAT_FIELDS, ids=[f"{c.__name__}.{n}" for c, n in FLOAT_FIELDS])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
def test_every_float_key_refuses_non_finite_values(cls, name, bad):
    default = getattr(_make(cls), name)
    value = tuple(bad for _ in default) if isinstance(default, tuple) else bad
    with pytest.raises(ParameterError, match=rf"{name}=.*(finite|must be)"):
        _make(cls, **{name: value})


def test_every_numeric_key_has_bounds():
    assert {NoveltyConfig, MosaicConfig, TrainConfig, LandmarkConfig} <= set(CONFIG_CLASSES)
    missing = [f"{cls.__name__}.{name}" for cls in CONFIG_CLASSES for name, _ in _numeric_fields(cls)
               if name not in getattr(cls, "BOUNDS", {}) and (cls.__name__, name) not in UNBOUNDED]
    assert missing == []


@pytest.mark.parametrize(("override", "message"), [
    ("audio.n_fft=100000000", "audio.n_fft=100000000 must be in [16, 16384]"),
    ("audio.fmax=nan", "audio.fmax=nan must be a finite number"),
    ("audio.center=maybe", "audio.center='maybe' must be true or false"),
    ("match.beam_width=abc", "match.beam_width='abc' must be an integer"),
    ("index.landmarks.min_db=inf", "index.landmarks.min_db=inf must be a finite number"),
    ("analysis.batch_frames=100000", "batch_frames=100000 x audio.n_fft=2048"),
    ("device=tpu", "device='tpu'"),
])
def test_bad_values_name_the_full_key(override, message):
    cfg = compose_config([override])
    with pytest.raises(ParameterError) as caught:
        configs(cfg)
    assert message in str(caught.value)
    assert not str(caught.value).startswith("analysis.device")


def test_ints_given_for_floats_make_the_same_config_and_cache_key():
    assert NoveltyConfig(fmin=0, top_db=80).as_dict() == NoveltyConfig().as_dict()
    assert type(NoveltyConfig(fmin=0).fmin) is float and AugmentConfig(gain_db=[-6, 6]).gain_db == (-6.0, 6.0)
