"""Every config group composes from configs/ and builds its typed config object."""

from __future__ import annotations

import pytest

from videothat.core.errors import ParameterError
from videothat.settings import analysis_config, compose_config, index_config, match_config, render_config


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
