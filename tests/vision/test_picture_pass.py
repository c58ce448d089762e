"""The pictures' analysis pass: every per-frame measure in one decoding, per shot after."""

from __future__ import annotations

import numpy as np

from conftest import VIDEO_FIXTURE
from videothat.media.frames import VideoFrames
from videothat.vision.config import MotionConfig
from videothat.vision.motion import file_impacts
from videothat.vision.pictures import analyse_pictures, shot_looks
from videothat.vision.quality import brightness, sharpness, signature


def test_one_pass_equals_each_measure_on_all_frames_and_any_chunking():
    video, config = VideoFrames(VIDEO_FIXTURE), MotionConfig(height=48)
    arrays = analyse_pictures(video, config, chunk_frames=50)
    width = round(video.width * 48 / video.height / 2) * 2
    frames = video.get(np.arange(video.count), height=48, width=width)
    np.testing.assert_allclose(arrays["impacts"], file_impacts(video, config).numpy(), atol=1e-6)
    np.testing.assert_allclose(arrays["brightness"], brightness(frames).numpy(), rtol=1e-6)
    np.testing.assert_allclose(arrays["sharpness"], sharpness(frames).numpy(), rtol=1e-5)
    bits = np.unpackbits(arrays["signature"], axis=1)[:, :64].astype(bool)
    np.testing.assert_array_equal(bits, signature(frames).numpy())
    assert arrays["motion"].shape == (video.count,) and float(arrays["fps"]) == video.fps
    again = analyse_pictures(video, config, chunk_frames=10_000)
    for key, value in again.items():
        np.testing.assert_allclose(arrays[key], value, atol=1e-5, rtol=1e-5)


def test_shot_looks_equal_a_per_shot_loop():
    rng = np.random.default_rng(0)
    n, fps = 200, 25.0
    arrays = {"brightness": rng.random(n).astype(np.float32), "sharpness": rng.random(n).astype(np.float32) * 50,
              "motion": rng.random(n).astype(np.float32), "fps": np.array(fps),
              "signature": np.packbits(rng.random((n, 64)) < 0.5, axis=1)}
    spans = [(0.0, 2.0), (2.0, 2.52), (2.52, 8.0)]
    looks = shot_looks(arrays, spans)
    for i, (a, b) in enumerate(spans):
        f0, f1 = round(a * fps), round(b * fps)
        assert looks.brightness[i] == np.float32(np.median(arrays["brightness"][f0:f1]))
        assert looks.sharpness[i] == np.float32(np.median(arrays["sharpness"][f0:f1]))
        assert abs(looks.motion[i] - arrays["motion"][f0:f1].mean()) < 1e-6
        mid = (f0 + f1 - 1) // 2
        np.testing.assert_array_equal(looks.signature[i], np.unpackbits(arrays["signature"][mid])[:64] > 0)
