"""Every config group composes from configs/ and builds its typed config object."""

from __future__ import annotations

import pytest

from videothat.cli import compose_config
from videothat.config import analysis_config, index_config, match_config, render_config
from videothat.errors import ParameterError


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
