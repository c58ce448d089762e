"""Onset peak picking and beat tracking against librosa (the independent reference)."""

from __future__ import annotations

import librosa
import mir_eval
import numpy as np
import pytest

from conftest import AUDIO_FIXTURES
from videothat.audio.beats import beat_frames, estimate_tempo
from videothat.audio.onsets import onset_frames

SR, HOP = 22050, 512
FR = SR / HOP


@pytest.fixture(scope="module", params=AUDIO_FIXTURES, ids=lambda p: p.name)
def envelope(request):
    y, _ = librosa.load(request.param, sr=SR)
    return librosa.onset.onset_strength(y=y, sr=SR)


def test_onsets_equal_librosa(envelope):
    want = librosa.onset.onset_detect(onset_envelope=envelope, sr=SR, hop_length=HOP)
    np.testing.assert_array_equal(onset_frames(envelope, frame_rate=FR), want)


@pytest.mark.slow
def test_beats_agree_with_librosa(envelope):
    tempo, want = librosa.beat.beat_track(onset_envelope=envelope, sr=SR, hop_length=HOP)
    ours = beat_frames(envelope, frame_rate=FR)
    assert mir_eval.beat.f_measure(want / FR, ours / FR) >= 0.95
    assert estimate_tempo(envelope, frame_rate=FR) == pytest.approx(float(np.atleast_1d(tempo)[0]), rel=0.06)


def test_silence_has_no_onsets_or_beats():
    assert onset_frames(np.zeros(500), frame_rate=FR).size == 0
    assert beat_frames(np.zeros(500), frame_rate=FR).size == 0
