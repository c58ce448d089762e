"""The composed configuration: Hydra's YAML groups (shipped in ``videothat/configs``) with
``key=value`` overrides, turned into the typed config objects the library takes.

The YAML files are the one source of defaults: every dataclass field has its key there,
with its unit and effect in a comment (``tests/test_settings.py`` checks both that the
defaults agree and that every key is present), and ``docs/configuration.md``'s table is
generated from them (``python scripts/config_table.py``). Only this module and the CLI
touch Hydra; the library takes the objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from videothat.analysis import AnalysisConfig
from videothat.audio.config import NoveltyConfig
from videothat.core.configs import build_config
from videothat.core.errors import ParameterError
from videothat.index.config import IndexConfig
from videothat.match.config import MatchConfig
from videothat.media.config import RenderConfig, ShotConfig
from videothat.pipeline.run import Configs

CONFIG_DIR = Path(str(resources.files("videothat") / "configs"))
ANALYSIS_SECTIONS = ("novelty", "shots", "device")  # AnalysisConfig fields set from other sections


def compose_config(overrides: list[str], *, config_name: str = "config") -> dict:
    """The root config composed with Hydra from ``videothat/configs``, as a plain dict."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not CONFIG_DIR.is_dir():
        raise ParameterError(f"config folder {CONFIG_DIR} is missing; reinstall VideoThat (pip install .)")
    overrides = [_quote_commas(o) for o in overrides]
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ParameterError(f"bad override ({' '.join(overrides)}): {exc}".splitlines()[0]) from exc
    return OmegaConf.to_container(cfg, resolve=True)


def _quote_commas(override: str) -> str:
    """``index.type=IVF256,PQ32`` -> ``index.type='IVF256,PQ32'``: this CLI runs no sweeps, so a
    comma in a plain value is part of it (FAISS factory strings), not a list of values."""
    key, sep, value = override.partition("=")
    if sep and "," in value and value[:1] not in "[{'\"":
        return f"{key}='{value}'"
    return override


def analysis_config(cfg: Mapping[str, object]) -> AnalysisConfig:
    """:class:`AnalysisConfig` from the ``audio`` (novelty), ``shots`` and ``analysis``
    sections and the top-level ``device``."""
    analysis = dict(cfg.get("analysis", {}))
    clash = sorted(set(analysis) & set(ANALYSIS_SECTIONS))
    if clash:
        raise ParameterError(f"unknown key(s) {', '.join('analysis.' + k for k in clash)}; "
                             "set them as audio.*, shots.* and device")
    return build_config(AnalysisConfig, {
        **analysis,
        "novelty": build_config(NoveltyConfig, cfg.get("audio", {}), "audio"),
        "shots": build_config(ShotConfig, cfg.get("shots", {}), "shots"),
        "device": str(cfg.get("device", "auto")),
    }, "analysis")


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
                   index=index_config(cfg.get("index", {})))
