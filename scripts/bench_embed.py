"""Throughput of learned embedding extraction (windows per second), side by side in one run.

    python scripts/bench_embed.py CORPUS_DIR [--checkpoint audio_encoder.safetensors]
        [--seconds 600] [--hop 0.25] [--repeats 3] [--device auto]
        [--video-encoder video_encoder.safetensors --video V [--video-hop 0.025]]

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

With ``--video-encoder RUN/video_encoder.safetensors --video V`` it also times picture
windows (every ``--video-hop`` s, as ``query --by pictures`` embeds them) two ways on the
frames decoded once: ``embed_windows`` (a per-frame trunk sees each frame once) and clip
batches through the encoder's forward (every window's frames through the trunk again).
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
from videothat.core.device import resolve_device  # noqa: E402
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
    parser.add_argument("--video-encoder", type=Path, help="a soundtrack run's video_encoder.safetensors")
    parser.add_argument("--video", type=Path, help="a video whose picture windows are timed")
    parser.add_argument("--video-hop", type=float, default=0.025, help="s between picture windows (index.query_hop)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    paths = sorted((args.corpus / "music").glob("*.wav"))
    if not paths:
        sys.exit(f"no music under {args.corpus}/music: build the corpus (bash scripts/build_corpus.sh {args.corpus})")
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
    if args.video_encoder and args.video:
        picture_rows(args, device)
    return 0


def picture_rows(args: argparse.Namespace, device: torch.device) -> None:
    from videothat.media.frames import decode_frames, frame_indices, frame_times
    from videothat.vision.encoders import load_video_encoder

    model, extra = load_video_encoder(args.video_encoder, device=device)
    window = float(extra.get("audio_window", 2.0))
    t_decode, (frames, fps) = timed(lambda: decode_frames(args.video, height=model.size, width=model.size), 1, device)
    seconds = len(frames) / fps
    starts = np.arange(0.0, seconds - window + 1e-9, args.video_hop)
    if not len(starts):
        sys.exit(f"{args.video}: {seconds:.2f} s is shorter than one {window} s picture window")
    indices = torch.from_numpy(frame_indices(frame_times(starts, starts + window, model.frames), fps,
                                             len(frames))).to(device)
    frames = frames.to(device)
    with torch.no_grad():
        t_shared, shared = timed(lambda: model.embed_windows(frames, indices), args.repeats, device)
        def clip_batches():
            return torch.cat([model(frames[indices[i : i + 64]]) for i in range(0, len(indices), 64)])

        t_clips, clips = timed(clip_batches, args.repeats, device)
    n = len(starts)
    print(f"\n{seconds:.1f} s of video ({len(frames)} frames at {fps:.1f} fps, decoded once at {model.size} px in "
          f"{t_decode:.2f} s), {n} picture windows of {window} s ({model.frames} frames) every {args.video_hop} s, "
          f"trunk {model.trunk_name}\n")
    print("| method | windows | seconds | windows/s | x realtime | vs clip batches | max diff |")
    print("|---|---|---|---|---|---|---|")
    diff = float((shared - clips).abs().max())
    for name, t, d in (("embed_windows (each frame once)", t_shared, f"{diff:.1e}"), ("clip batches", t_clips, "-")):
        print(f"| {name} | {n} | {t:.2f} | {n / t:,.0f} | {seconds / t:,.0f} | {t_clips / t:.1f}x | {d} |")


if __name__ == "__main__":
    sys.exit(main())
