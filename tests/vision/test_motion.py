"""Visual impact curves: peaks where motion stops or turns, flow against known shifts,
batched equals one at a time, resampling against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import VIDEO_FIXTURE as FIXTURE_VIDEO
from videothat.core.errors import ParameterError
from videothat.vision.motion import (
    MotionConfig,
    _blur,
    directogram,
    impact_curves,
    optical_flow,
    resample,
)

H, W, SIDE = 64, 96, 16


def moving_square(xs: list[float], seed: int = 0) -> torch.Tensor:
    """Frames [len(xs), H, W, 3] uint8: a textured square at column ``xs[t]`` (integer pixels)."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(80, 255, (SIDE, SIDE, 3), dtype=np.uint8)
    frames = np.full((len(xs), H, W, 3), 30, np.uint8)
    for t, x in enumerate(xs):
        x = int(round(x))
        frames[t, 24 : 24 + SIDE, x : x + SIDE] = texture
    return torch.from_numpy(frames)


def _peak(curve: torch.Tensor) -> int:
    return int(torch.argmax(curve))


@pytest.mark.parametrize("stop", [12, 20, 27])
def test_impact_peaks_where_the_object_stops(stop, device):
    xs = [4 + 2 * min(t, stop) for t in range(40)]
    (curve,) = impact_curves([moving_square(xs).to(device)], MotionConfig())
    assert abs(_peak(curve) - stop) <= 1
    assert curve[stop - 1 : stop + 2].max() > 5 * curve[3 : stop - 3].max()  # steady motion: no impact


@pytest.mark.parametrize("turn", [15, 24])
def test_impact_peaks_where_the_object_turns_back(turn, device):
    xs = [10 + 2 * (t if t <= turn else 2 * turn - t) for t in range(2 * turn)]
    (curve,) = impact_curves([moving_square(xs).to(device)], MotionConfig())
    assert abs(_peak(curve) - turn) <= 1


def test_flow_recovers_a_known_shift():
    rng = np.random.default_rng(1)
    base = torch.from_numpy(rng.random((1, 80, 80)).astype(np.float32))
    smooth = _blur(base, 2.0)  # as the curves see frames: blurred
    shifted = torch.roll(smooth, shifts=1, dims=2)  # content moves +1 px in x
    flow = optical_flow(smooth, shifted, window=7)[0, :, 10:-10, 10:-10]
    assert abs(float(flow[0].median()) - 1.0) < 0.2 and abs(float(flow[1].median())) < 0.1
    assert int(torch.argmax(directogram(flow[None], 8))) == 0  # bin 0: moving right


def test_batched_equals_one_at_a_time(device):
    videos = [moving_square([4 + 2 * min(t, s) for t in range(n)], seed=s).to(device)
              for s, n in ((8, 20), (15, 33), (3, 1), (10, 25))]
    together = impact_curves(videos, MotionConfig())
    for video, curve in zip(videos, together, strict=True):
        (alone,) = impact_curves([video], MotionConfig())
        torch.testing.assert_close(curve, alone, atol=1e-6, rtol=1e-5)


def test_resample_equals_numpy_interp():
    curve = torch.rand(50, dtype=torch.float64)
    fps, rate, n = 25.0, 22050 / 512, 90
    want = np.interp(np.arange(n) / rate, np.arange(50) / fps, curve.numpy(), right=0.0)
    got = resample(curve, fps, rate, n).numpy()
    inside = np.arange(n) / rate <= 49 / fps
    np.testing.assert_allclose(got[inside], want[inside], atol=1e-12)
    assert np.all(got[~inside] <= curve[-1].item() + 1e-12)


@pytest.mark.parametrize("kw", [{"height": 8}, {"bins": 1}, {"window": 4}, {"blur": float("nan")}])
def test_bad_parameters(kw):
    with pytest.raises(ParameterError, match=next(iter(kw))):
        MotionConfig(**kw)


def test_a_real_video_file_peaks_at_the_known_stop(tmp_path):
    """Through the encoder and decoder (H.264, resized to the analysis height): the square
    stops at frame 30 of a 25 fps file, 1.2 s in."""
    from videothat.media.synthetic import write_video
    from videothat.vision.motion import video_impacts

    xs = [4 + 2 * min(t, 30) for t in range(50)]
    frames = moving_square(xs).numpy().repeat(2, axis=1).repeat(2, axis=2)  # 128 x 192 source
    path = write_video(tmp_path / "stop.mp4", frames, fps=25)
    curve, fps = video_impacts(path, MotionConfig(height=64))
    assert fps == 25 and curve.shape == (50,)
    assert abs(_peak(curve) / fps - 1.2) <= 1 / fps


def test_separable_box_equals_the_2d_mean():
    from videothat.vision.motion import _box

    x = torch.rand(2, 5, 17, 23, dtype=torch.float64)
    want = torch.nn.functional.avg_pool2d(x, 7, stride=1, padding=3, count_include_pad=False)
    torch.testing.assert_close(_box(x, 7), want)


def test_empty_and_one_frame_sequences_and_a_blur_too_wide():
    empty, one = torch.zeros(0, 32, 32, 3, dtype=torch.uint8), torch.zeros(1, 32, 32, 3, dtype=torch.uint8)
    assert [c.shape[0] for c in impact_curves([empty], MotionConfig())] == [0]
    assert [c.shape[0] for c in impact_curves([one], MotionConfig())] == [1]
    three = torch.full((3, 32, 32, 3), 9, dtype=torch.uint8)
    assert [c.shape[0] for c in impact_curves([empty, one, three], MotionConfig())] == [0, 1, 3]
    with pytest.raises(ParameterError, match="too wide"):
        MotionConfig(height=16, blur=10)


def test_file_impacts_in_chunks_equal_all_frames_at_once():
    from videothat.media.frames import VideoFrames
    from videothat.vision.motion import file_impacts

    video = VideoFrames(FIXTURE_VIDEO)
    config = MotionConfig(height=48)
    whole = file_impacts(video, config, chunk_frames=10_000)
    for chunk in (2, 7, 64):
        torch.testing.assert_close(file_impacts(video, config, chunk_frames=chunk), whole, atol=1e-6, rtol=1e-5)
    width = round(video.width * 48 / video.height / 2) * 2
    frames = video.get(np.arange(video.count), height=48, width=width)
    (reference,) = impact_curves([frames], config)
    torch.testing.assert_close(whole, reference, atol=1e-6, rtol=1e-5)


def test_shot_impacts_equal_each_shot_analysed_alone():
    """Reading a whole-file curve per shot equals computing each shot's frames alone, then
    resampling (brute force, per shot)."""
    from videothat.vision.pictures import shot_impacts

    fps, fr = 25.0, 43.066
    xs = [4.0 * k for k in range(20)] + [80.0 - 4.0 * k for k in range(20)] + [0.0] * 10 + \
         [3.0 * k for k in range(25)]
    frames = moving_square(xs)  # 75 frames
    config = MotionConfig()
    (whole,) = impact_curves([frames], config)
    spans = [(0.0, 30 / fps), (30 / fps, 56 / fps), (56 / fps, 75 / fps)]
    lengths = [int((b - a) * fr) + 1 for a, b in spans]
    got = shot_impacts(whole.numpy(), fps, spans, lengths, frame_rate=fr)
    for (a, b), n, curve in zip(spans, lengths, got, strict=True):
        f0, f1 = round(a * fps), round(b * fps)
        (alone,) = impact_curves([frames[f0:f1]], config)
        expected = resample(alone, fps, fr, n)
        np.testing.assert_allclose(curve, expected.numpy(), atol=1e-5, rtol=1e-4)
