"""The composed configuration: Hydra's YAML groups (shipped in ``videothat/configs``) with
``key=value`` overrides, turned into the typed config objects the library takes.

The YAML files are the one source of defaults: every dataclass field has its key there,
with its unit and effect in a comment (``tests/test_settings.py`` checks both that the
defaults agree and that every key is present); :func:`config_keys` lists the keys with their
defaults, ranges and meanings (``videothat config``, and ``docs/configuration.md``'s table,
``python scripts/config_table.py``). Only this module and the CLI
touch Hydra; the library takes the objects.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from videothat.analysis import AnalysisConfig
from videothat.audio.config import NoveltyConfig
from videothat.core.atomic import atomic_write
from videothat.core.configs import build_config
from videothat.core.device import check_device_name
from videothat.core.errors import ParameterError
from videothat.index.config import IndexConfig
from videothat.match.config import MatchConfig, MosaicConfig, MusicConfig, SoundtrackConfig
from videothat.media.config import RenderConfig
from videothat.media.shots import ShotConfig
from videothat.pipeline.run import Configs
from videothat.vision.config import EventConfig, MotionConfig
from videothat.vision.people import PersonConfig

CONFIG_DIR = Path(str(resources.files("videothat") / "configs"))
MEMO_VERSION = 1  # bump when the memo's meaning changes (e.g. a Hydra upgrade that composes differently)
ANALYSIS_SECTIONS = ("novelty", "shots", "device", "motion")  # AnalysisConfig fields set from other sections


def compose_config(overrides: list[str], *, config_name: str = "config", memo: Path | None = None) -> dict:
    """The root config composed with Hydra from ``videothat/configs``, as a plain dict.

    With ``memo`` (a folder), the result is remembered there keyed by the overrides and the
    bytes of every YAML file, so a repeated command skips Hydra (about 0.2 s of start-up);
    any change to a config file or an override composes afresh.
    """
    if not CONFIG_DIR.is_dir():
        raise ParameterError(f"config folder {CONFIG_DIR} is missing; reinstall VideoThat (pip install .)")
    overrides = [_quote_commas(o) for o in overrides]
    entry = memo / f"{_memo_key(config_name, overrides)}.json" if memo is not None else None
    if entry is not None:
        try:
            return json.loads(entry.read_text())
        except (OSError, ValueError):
            pass
    cfg = _compose(config_name, overrides)
    if entry is not None:
        try:
            atomic_write(entry, lambda f: f.write(json.dumps(cfg).encode()))
        except OSError:  # an unwritable cache only costs start-up time
            pass
    return cfg


def _compose(config_name: str, overrides: list[str]) -> dict:
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ParameterError(_override_problem(exc, overrides)) from exc
    return OmegaConf.to_container(cfg, resolve=True)


def _override_problem(exc: Exception, overrides: list[str]) -> str:
    """One line about a refused override: the unknown key, or Hydra's first line (with the
    options of a group when it lists them)."""
    text = str(exc)
    unknown = re.match(r"Could not override '([^']+)'", text)
    if unknown:
        return (f"unknown key {unknown.group(1)} ({' '.join(overrides)}); see 'videothat config' for every key, "
                f"its default, range and meaning")
    line = text.splitlines()[0] if text.strip() else type(exc).__name__
    options = re.search(r"Available options in '([^']+)':\n((?:\t.*\n?)+)", text)
    if options:
        line += f" (options for {options.group(1)}: {', '.join(o.strip() for o in options.group(2).splitlines())})"
    return f"bad override ({' '.join(overrides)}): {line}"


def _memo_key(config_name: str, overrides: list[str]) -> str:
    """Hash of the config files' bytes, the config name and the overrides."""
    digest = hashlib.blake2b(json.dumps([MEMO_VERSION, config_name, overrides]).encode(), digest_size=16)
    for path in sorted(CONFIG_DIR.rglob("*.yaml")):
        digest.update(str(path.relative_to(CONFIG_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _quote_commas(override: str) -> str:
    """``index.type=IVF256,PQ32`` -> ``index.type='IVF256,PQ32'``: this CLI runs no sweeps, so a
    comma in a plain value is part of it (FAISS factory strings), not a list of values."""
    key, sep, value = override.partition("=")
    if sep and "," in value and value[:1] not in "[{'\"":
        return f"{key}='{value}'"
    return override


def analysis_config(cfg: Mapping[str, object]) -> AnalysisConfig:
    """:class:`AnalysisConfig` from the ``audio`` (novelty), ``shots`` and ``analysis``
    sections and the top-level ``device``; with ``match.visual_weight`` > 0, the pictures'
    analysis from ``vision.motion``."""
    analysis = dict(cfg.get("analysis", {}))
    clash = sorted(set(analysis) & set(ANALYSIS_SECTIONS))
    if clash:
        raise ParameterError(f"unknown key(s) {', '.join('analysis.' + k for k in clash)}; "
                             "set them as audio.*, shots.* and device")
    check_device_name(str(cfg.get("device", "auto")))  # a top-level key: named as such
    return build_config(AnalysisConfig, {
        **analysis,
        "novelty": build_config(NoveltyConfig, cfg.get("audio", {}), "audio"),
        "shots": build_config(ShotConfig, cfg.get("shots", {}), "shots"),
        "device": str(cfg.get("device", "auto")),
        "motion": _motion_config(cfg),
    }, "analysis")


def _motion_config(cfg: Mapping[str, object]) -> MotionConfig | None:
    """The motion analysis when the match uses the pictures (``match.visual_weight`` > 0), else None."""
    return motion_config(cfg) if match_config(cfg).score.visual_weight > 0 else None


def match_config(cfg: Mapping[str, object]) -> MatchConfig:
    """:class:`MatchConfig` from the flat ``match`` section."""
    return build_config(MatchConfig, cfg.get("match", {}), "match")


def index_config(section: Mapping[str, object]) -> IndexConfig:
    """:class:`IndexConfig` from the ``index`` section (nested encoder sections included)."""
    return build_config(IndexConfig, section, "index")


def render_config(cfg: Mapping[str, object]) -> RenderConfig:
    """:class:`RenderConfig` from the ``render`` section."""
    return build_config(RenderConfig, cfg.get("render", {}), "render")


def configs(cfg: Mapping[str, object]) -> Configs:
    """Every stage's config from a composed root config."""
    return Configs(analysis=analysis_config(cfg), match=match_config(cfg), render=render_config(cfg),
                   index=index_config(cfg.get("index", {})), person=person_config(cfg))


def mosaic_config(cfg: Mapping[str, object]) -> MosaicConfig:
    """:class:`MosaicConfig` from the ``mosaic`` section."""
    return build_config(MosaicConfig, cfg.get("mosaic", {}), "mosaic")


def person_config(cfg: Mapping[str, object]) -> PersonConfig:
    """:class:`PersonConfig` from ``vision.person``."""
    return build_config(PersonConfig, dict(cfg.get("vision", {})).get("person", {}), "vision.person")


def motion_config(cfg: Mapping[str, object]) -> MotionConfig:
    """:class:`MotionConfig` from ``vision.motion`` (whether or not the match uses the pictures)."""
    return build_config(MotionConfig, dict(cfg.get("vision", {})).get("motion", {}), "vision.motion")


def event_config(cfg: Mapping[str, object]) -> EventConfig:
    """:class:`EventConfig` from ``vision.events``."""
    return build_config(EventConfig, dict(cfg.get("vision", {})).get("events", {}), "vision.events")


def soundtrack_config(cfg: Mapping[str, object]) -> SoundtrackConfig:
    """:class:`SoundtrackConfig` from the ``soundtrack`` section."""
    return build_config(SoundtrackConfig, cfg.get("soundtrack", {}), "soundtrack")


def music_config(cfg: Mapping[str, object]) -> MusicConfig:
    """:class:`MusicConfig` from the ``music`` section."""
    return build_config(MusicConfig, cfg.get("music", {}), "music")


# -- every key: its default, bounds and meaning (videothat config, docs/configuration.md) -------------

COMMAND_GROUPS = ("audio", "shots", "analysis", "match", "render", "index", "vision", "mosaic", "soundtrack", "music")
TRAINING_GROUPS = ("embed", "augment", "train")  # fit.yaml's, in the order the docs list them
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[\w.]+):(?P<rest>.*)$")
# the config class of each section of the videothat command (vision: of each subsection)
SECTION_CLASSES: dict[str, type | dict[str, type]] = {
    "audio": NoveltyConfig, "shots": ShotConfig, "analysis": AnalysisConfig, "match": MatchConfig,
    "render": RenderConfig, "index": IndexConfig, "mosaic": MosaicConfig, "soundtrack": SoundtrackConfig,
    "music": MusicConfig, "vision": {"motion": MotionConfig, "person": PersonConfig, "events": EventConfig},
}


@dataclass(frozen=True)
class ConfigKey:
    """One key of the composed config (or one config group) as the YAML files describe it.

    ``default`` is the value as the YAML writes it (a group: its default option); ``meaning``
    the key's comment; ``bounds`` the closed range its config class's ``BOUNDS`` allows (None
    for a key with none: text, flags, a number checked otherwise). A group lists its
    ``options``; a key of a group with several options names the default one (``option``) and
    the values the others give it where they differ (``variants``: (option, value) pairs).
    """

    key: str
    default: str
    meaning: str
    bounds: tuple[float, float] | None = None
    options: tuple[str, ...] = ()
    option: str | None = None
    variants: tuple[tuple[str, str], ...] = ()


def yaml_entries(path: Path) -> list[tuple[str, str, str]]:
    """(dotted key, value as written, comment) for every key with a value in a YAML file: the
    comment inline, or the comment line directly above the key; ``defaults`` lists, list
    items and ``_target_`` are left out."""
    out: list[tuple[str, str, str]] = []
    parents: list[tuple[int, str]] = []  # (indent, key) of the open mapping headers
    above = ""  # the comment line directly above, if the previous non-blank line is one
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            above = stripped.lstrip("#").strip()
            continue
        match = KEY_LINE.match(line)
        if match is None:  # a list item or other continuation line
            above = ""
            continue
        indent, key = len(match["indent"]), match["key"]
        parts = re.split(r"\s#\s?", match["rest"], maxsplit=1)
        value, comment = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else above)
        above = ""
        while parents and parents[-1][0] >= indent:
            parents.pop()
        if not value:  # a mapping header (or the defaults list)
            parents.append((indent, key))
        elif key != "_target_" and all(k != "defaults" for _, k in parents):
            out.append((".".join([k for _, k in parents] + [key]), value, comment))
    return out


def default_options(root: str) -> dict[str, str]:
    """Group -> the option the root config's ``defaults`` list selects."""
    import yaml

    defaults = yaml.safe_load((CONFIG_DIR / f"{root}.yaml").read_text()).get("defaults", [])
    return {k: v for item in defaults if isinstance(item, dict) for k, v in item.items()}


def config_keys(root: str = "config", groups: tuple[str, ...] = COMMAND_GROUPS, *, own: bool = True
                ) -> list[ConfigKey]:
    """The keys of the ``root`` config (``own``: its own keys, such as ``device``, first), then
    of each of its ``groups`` in order, preceded by the group itself when it has several
    options; bounds from :data:`SECTION_CLASSES`."""
    rows = [ConfigKey(key, value, comment) for key, value, comment in yaml_entries(CONFIG_DIR / f"{root}.yaml")
            ] if own else []
    chosen = default_options(root)
    for group in groups:
        options = tuple(sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml")))
        default = chosen[group]
        several = len(options) > 1
        if several:
            rows.append(ConfigKey(group, default, "", options=options))
        others = {o: {k: v for k, v, _ in yaml_entries(CONFIG_DIR / group / f"{o}.yaml")}
                  for o in options if o != default}
        for key, value, comment in yaml_entries(CONFIG_DIR / group / f"{default}.yaml"):
            variants = tuple((o, vals[key]) for o, vals in others.items() if vals.get(key, value) != value)
            rows.append(ConfigKey(f"{group}.{key}", value, comment, key_bounds(f"{group}.{key}"),
                                  option=default if several else None, variants=variants))
    return rows


def key_bounds(key: str) -> tuple[float, float] | None:
    """The closed range the config classes allow the dotted ``key`` (``index.rhythm.window``),
    or None when its class bounds it not (or no class of :data:`SECTION_CLASSES` holds it)."""
    section, _, rest = key.partition(".")
    cls = SECTION_CLASSES.get(section)
    if isinstance(cls, dict):
        sub, _, rest = rest.partition(".")
        cls = cls.get(sub)
    return None if cls is None or not rest else _field_bounds(cls, rest.split("."))


def _field_bounds(cls: type, parts: list[str]) -> tuple[float, float] | None:
    """The ``BOUNDS`` entry of the field ``parts`` of ``cls``: through nested config fields
    and the parts a ``FLAT`` class shares its section with."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    for flat in getattr(cls, "FLAT", ()):
        found = _field_bounds(hints[flat], parts)
        if found is not None:
            return found
    head, *tail = parts
    if tail:
        sub = hints.get(head)
        return _field_bounds(sub, tail) if dataclasses.is_dataclass(sub) else None
    bound = getattr(cls, "BOUNDS", {}).get(head)
    return None if bound is None else (bound[0], bound[1])
