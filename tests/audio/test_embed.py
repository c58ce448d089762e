"""The learned audio encoder: windowing equals direct embedding, batching, safetensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import AUDIO_FIXTURES
from videothat.audio.config import EmbedConfig
from videothat.audio.embed import AudioEncoder, embed_clips, hop_frames, load_encoder
from videothat.core.errors import CacheError, ParameterError
from videothat.core.weights import read_weights, save_encoder
from videothat.media.audio import decode_audio

SMALL = EmbedConfig(window=0.5, n_mels=32, channels=(8, 16, 32), dim=24)
ALIGNED = EmbedConfig(window=0.5, n_mels=32, channels=(8, 16, 32), dim=24, steps=4)  # 20 frames -> 10 -> 5 -> 5


@pytest.fixture(scope="module")
def clips() -> list[torch.Tensor]:
    waves = [torch.from_numpy(decode_audio(p, SMALL.sample_rate)) for p in AUDIO_FIXTURES[:3]]
    return [waves[0][: 3 * SMALL.sample_rate], waves[1][: SMALL.samples // 2], waves[2][: 7 * SMALL.sample_rate]]


@pytest.fixture(scope="module", params=[SMALL, ALIGNED], ids=["pooled", "aligned"])
def model(request) -> AudioEncoder:
    torch.manual_seed(0)
    net = AudioEncoder(request.param)
    net.train()
    with torch.no_grad():  # move the batch-norm statistics off their initial values
        net(torch.randn(16, SMALL.samples) * 0.1)
    return net.eval()


def test_windows_equal_direct_embedding(model, clips, device):
    model = model.to(device)
    (vectors, starts), = embed_clips(model, [clips[0]], hop=0.25)
    step = hop_frames(SMALL, 0.25) * SMALL.hop_length
    assert np.allclose(np.diff(starts), step / SMALL.sample_rate)
    with torch.no_grad():
        for w in (0, 3, len(starts) - 1):
            direct = model(clips[0][w * step : w * step + SMALL.samples][None].to(device)).cpu().numpy()[0]
            assert np.abs(direct - vectors[w]).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors.shape[1] == SMALL.dim


def test_batched_equals_one_at_a_time(model, clips, device):
    model = model.to(device)
    together = embed_clips(model, clips, hop=0.1)
    for clip, (vectors, starts) in zip(clips, together, strict=True):
        (alone, alone_starts), = embed_clips(model, [clip], hop=0.1)
        assert np.array_equal(starts, alone_starts)
        assert np.abs(vectors - alone).max() < 1e-5
    assert len(together[1][1]) == 1  # shorter than a window: one zero-padded embedding


def test_silence_gives_no_embedding(model):
    (vectors, starts), = embed_clips(model, [torch.zeros(2 * SMALL.sample_rate)], hop=0.25)
    assert vectors.shape == (0, SMALL.dim) and starts.size == 0


def test_safetensors_round_trip(model, clips, tmp_path):
    path = save_encoder(model, model.config, tmp_path / "enc.safetensors", extra={"step": 3})
    loaded = load_encoder(path)
    assert loaded.config == model.config
    a, b = embed_clips(model, clips, hop=0.25), embed_clips(loaded, clips, hop=0.25)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b, strict=True))
    assert path.read_bytes()[8:9] == b"{"  # a safetensors JSON header, not a pickle
    assert ("steps" in read_weights(path)[1]) == bool(model.config.steps)  # pooled files as earlier versions wrote


def test_bad_weights_files_are_clear_errors(tmp_path):
    with pytest.raises(CacheError, match="not found"):
        load_encoder(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(CacheError, match="junk.safetensors"):
        load_encoder(junk)


def test_aligned_blocks_keep_enough_frames():
    assert SMALL.time_pools() == (True, True, True)
    assert ALIGNED.time_pools() == (True, True, False)  # 20 frames -> 10 -> 5, and 5 // 2 < 4 steps
    h = AudioEncoder(ALIGNED).trunk(torch.zeros(2, 1, ALIGNED.n_mels, ALIGNED.frames))
    assert h.shape[-1] == 5 >= ALIGNED.steps


def test_aligned_embedding_is_local_in_time():
    """The last log-mel frame of a window, changed, leaves the first step's part alone (it
    reaches only the trunk's last 2 of 5 output frames, the 4th step's) and changes the last one's."""
    torch.manual_seed(0)
    net = AudioEncoder(ALIGNED).eval()
    log_mel = torch.randn(1, ALIGNED.n_mels, ALIGNED.frames)
    changed = log_mel.clone()
    changed[..., -1] += 3.0
    with torch.no_grad():
        first, second = (net.head(net.trunk(x[:, None]).flatten(1, 2)).view(ALIGNED.dim // ALIGNED.steps, -1)
                         for x in (log_mel, changed))
    assert torch.equal(first[:, 0], second[:, 0])
    assert not torch.allclose(first[:, -1], second[:, -1], atol=1e-3)


def test_config_and_input_checks():
    with pytest.raises(ParameterError, match="pooling"):
        EmbedConfig(window=0.1)
    with pytest.raises(ParameterError, match="steps"):
        EmbedConfig(dim=24, steps=5)
    with pytest.raises(ParameterError, match="samples"):
        AudioEncoder(SMALL)(torch.zeros(1, 100))
