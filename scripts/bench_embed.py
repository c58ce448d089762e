"""Throughput of learned embedding extraction (windows per second), side by side in one run.

    python scripts/bench_embed.py CORPUS_DIR [--checkpoint audio_encoder.safetensors]
        [--seconds 600] [--hop 0.25] [--repeats 3] [--device auto]

Embeds every ``--hop`` s window of ``--seconds`` of corpus music (``music/*.wav``, cut into
60 s clips) with the learned encoder (``--checkpoint``, or an untrained one of the default
architecture: the speed is the same), three ways, median of ``--repeats``:

* ``embed_clips``: one STFT per clip, windows cut from the log-mel frames, large trunk
  batches (bf16 autocast on CUDA), as the index uses it;
* window batches: every window cut from the waveform and embedded in batches of 1024 through
  the model's own forward (an STFT per window);
* one window at a time: the naive loop.

and, for reference, the hand-made ``timbre`` fingerprint. Reported: windows/s, x realtime,
speed-up over the naive loop, and the largest difference to ``embed_clips``'s vectors.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from videothat.audio.config import EmbedConfig, NoveltyConfig  # noqa: E402
from videothat.audio.embed import AudioEncoder, embed_clips, hop_frames, load_encoder  # noqa: E402
from videothat.config import resolve_device  # noqa: E402
from videothat.index.config import IndexConfig  # noqa: E402
from videothat.index.encoders import build_encoder  # noqa: E402
from videothat.media.audio import decode_audio  # noqa: E402


def timed(fn, repeats: int, device: torch.device) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--hop", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-windows", type=int, default=300, help="windows timed one at a time")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    paths = sorted((args.corpus / "music").glob("*.wav"))
    if not paths:
        sys.exit(f"no music under {args.corpus}/music: build the corpus (bash ../shared/data/build_corpus.sh)")
    if args.checkpoint:
        model = load_encoder(args.checkpoint, device=device)
    else:
        model = AudioEncoder(EmbedConfig()).to(device).eval()
    cfg = model.config
    audio = np.concatenate([decode_audio(p, cfg.sample_rate) for p in paths])[: round(args.seconds * cfg.sample_rate)]
    clip = 60 * cfg.sample_rate
    clips = [torch.from_numpy(audio[i : i + clip]) for i in range(0, audio.size, clip)]
    seconds = audio.size / cfg.sample_rate
    step = hop_frames(cfg, args.hop) * cfg.hop_length
    windows = torch.cat([c.unfold(0, cfg.samples, step) for c in clips if c.numel() >= cfg.samples])
    n = windows.shape[0]
    print(f"{seconds:.0f} s of audio in {len(clips)} clips, {n} windows of {cfg.window} s every "
          f"{step / cfg.sample_rate:.3f} s, device {device}, {torch.get_num_threads()} threads", file=sys.stderr)

    embed_clips(model, clips[:1], hop=args.hop)  # warm-up
    t_clips, out = timed(lambda: embed_clips(model, clips, hop=args.hop), args.repeats, device)
    reference = np.concatenate([v for v, _ in out])
    with torch.no_grad():
        def window_batches():
            return torch.cat([model(windows[i : i + 1024].to(device)) for i in range(0, n, 1024)]).cpu().numpy()

        t_batches, batched = timed(window_batches, args.repeats, device)
        few = windows[: args.naive_windows]
        t_naive, naive = timed(lambda: np.stack([model(w[None].to(device)).cpu().numpy()[0] for w in few]), 1, device)
    t_naive_all = t_naive * n / few.shape[0]
    timbre = build_encoder(IndexConfig(encoder="timbre"), NoveltyConfig(), device=device)
    t_timbre, tout = timed(lambda: timbre.encode(clips), args.repeats, device)
    n_timbre = sum(len(s) for _, s in tout)
    same = reference.shape == batched.shape
    rows = [
        ("learned, embed_clips", n, t_clips, 0.0),
        ("learned, window batches", n, t_batches, float(np.abs(batched - reference).max()) if same else float("nan")),
        ("learned, one window at a time", n, t_naive_all, float(np.abs(naive - reference[: few.shape[0]]).max())),
        ("timbre (hand-made)", n_timbre, t_timbre, float("nan")),
    ]
    print("\n| method | windows | seconds | windows/s | x realtime | vs one at a time | max diff |")
    print("|---|---|---|---|---|---|---|")
    for name, count, t, diff in rows:
        note = " (extrapolated)" if "one window" in name else ""
        print(f"| {name} | {count} | {t:.2f}{note} | {count / t:,.0f} | {seconds / t:,.0f} | "
              f"{t_naive_all / t * count / n:.1f}x | {'-' if np.isnan(diff) else f'{diff:.1e}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
