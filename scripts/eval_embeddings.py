"""Do learned embeddings beat the hand-made ones? Both experiments, in one run.

    python scripts/eval_embeddings.py CORPUS_DIR [--checkpoint RUN/audio_encoder.safetensors
        --held-out 01_rock 07_industrial ... [--queries 40] [--lengths 1 2 5 10]]
        [--soundtrack RUN_DIR --soundtrack-val VAL.csv [--soundtrack-items 256]]

A. Fingerprints (the protocol of ``eval_retrieval.py``): every track of the corpus
   (``music/`` and ``pairs/``) is indexed (Flat) with each encoder: ``timbre`` (hand-made),
   ``rhythm`` (hand-made), ``random`` (an untrained encoder of the trained one's
   architecture, seed 0) and ``trained`` (``--checkpoint``). Queries are excerpts of the
   ``--held-out`` tracks only (paths containing one of the substrings: tracks the model did
   not train on), each under every degradation (clean, noise 10 dB SNR, gain -12 dB,
   low-pass 4 kHz, MP3 64 kbit/s), the same excerpts for every encoder. Reported: top-1 /
   top-10 (right track, offset within 0.5 s) per encoder x degradation x length, and the
   mean over the degraded columns.

B. Soundtrack (with ``--soundtrack``): the run's ``video_encoder.safetensors`` and
   ``audio_encoder.safetensors`` embed ``--soundtrack-items`` clips spread over the
   held-out videos of ``--soundtrack-val``; video -> audio recall@1/5/10 against chance
   (k / N), for the trained pair and for untrained encoders of the same architecture, and
   the share of queries whose top-1 sound comes from the right video at any time (chance
   about 1 / videos): recall@1 below it means the pictures are matched to their video's
   sound but not to the moment.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval_retrieval import DEGRADATIONS, SR, answer, build_store, make_queries  # noqa: E402

from videothat.audio.config import NoveltyConfig  # noqa: E402
from videothat.audio.embed import AudioEncoder  # noqa: E402
from videothat.core.weights import read_weights, save_encoder  # noqa: E402
from videothat.index.config import IndexConfig, LearnedConfig  # noqa: E402
from videothat.index.encoders import LearnedEncoder, build_encoder  # noqa: E402
from videothat.media.audio import decode_audio  # noqa: E402


def random_twin(checkpoint: Path, work: Path) -> Path:
    """An untrained encoder with the trained one's config (seed 0), saved beside ``work``."""
    from videothat.audio.config import EmbedConfig

    _, conf, _ = read_weights(checkpoint)
    torch.manual_seed(0)
    config = EmbedConfig(**conf)
    return save_encoder(AudioEncoder(config).eval(), config, work / "random.safetensors")


def fingerprint_table(args: argparse.Namespace) -> None:
    paths = sorted((args.corpus / "music").glob("*.wav")) + sorted((args.corpus / "pairs").glob("*.wav"))
    if not paths:
        sys.exit(f"no tracks under {args.corpus}/music or pairs: build the corpus first")
    held = [i for i, p in enumerate(paths) if any(h in p.name for h in args.held_out)]
    if not held:
        sys.exit(f"no track name contains any of {args.held_out}")
    tracks = [decode_audio(p, SR) for p in paths]
    print(f"{len(tracks)} tracks indexed; queries from {len(held)} held out: "
          + ", ".join(paths[i].stem for i in held), file=sys.stderr)
    index = IndexConfig()
    results: dict[tuple[str, str, float], list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        queries = make_queries([tracks[i] for i in held], ["heldout"] * len(held), args.lengths, args.queries,
                               args.seed, work)
        queries = [replace(q, track=held[q.track]) for q in queries]
        encoders = {"timbre": build_encoder(IndexConfig(encoder="timbre"), NoveltyConfig()),
                    "rhythm": build_encoder(IndexConfig(encoder="rhythm"), NoveltyConfig()),
                    "random": LearnedEncoder(LearnedConfig(checkpoint=str(random_twin(args.checkpoint, work)))),
                    "trained": LearnedEncoder(LearnedConfig(checkpoint=str(args.checkpoint)))}
        for label, encoder in encoders.items():
            fingerprints = encoder.encode([torch.from_numpy(x) for x in tracks])
            store = build_store(work / label, encoder, fingerprints, "Flat")
            for q in queries:
                (top1, _, top10), _ = answer(q, store, encoder, index, tracks)
                results.setdefault((label, q.degradation, q.length), []).append(1 if top1 else 2 if top10 else 0)
            print(f"{label}: done", file=sys.stderr)
    print(f"\nTop-1 / top-10 (right track, offset within 0.5 s), {args.queries} excerpts per length of held-out "
          "tracks, the same under every degradation and encoder; index: every corpus track (Flat)\n")
    head = " | ".join(f"{x:g} s" for x in args.lengths)
    print(f"| encoder | degradation | {head} |\n|---|---|" + "---|" * len(args.lengths))
    for label in encoders:
        for kind in (*DEGRADATIONS, "degraded (mean)"):
            cells = []
            for length in args.lengths:
                kinds = DEGRADATIONS[1:] if kind == "degraded (mean)" else (kind,)
                ranks = np.concatenate([results[(label, k, length)] for k in kinds])
                cells.append(f"{np.mean(ranks == 1):.2f} / {np.mean(ranks > 0):.2f}")
            print(f"| {label} | {kind} | " + " | ".join(cells) + " |")


def soundtrack_table(args: argparse.Namespace) -> None:
    from train.data import ClipSampler
    from train.evaluate import recall_at
    from train.manifest import read_manifest
    from train.objectives import SoundtrackObjective
    from videothat.audio.augment import AugmentConfig
    from videothat.audio.config import EmbedConfig
    from videothat.vision.encoders import VideoEncoder

    audio_state, audio_conf, _ = read_weights(args.soundtrack / "audio_encoder.safetensors")
    video_state, video_conf, _ = read_weights(args.soundtrack / "video_encoder.safetensors", kind="video")
    clips = read_manifest(args.soundtrack_val, need_video=True)
    print(f"\nVideo -> audio retrieval on {args.soundtrack_items} clips spread over {len(clips)} held-out videos\n")
    print("| encoders | N | recall@1 | recall@5 | recall@10 | chance@1 | chance@5 | chance@10 "
          "| top-1 from the right video |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, trained in (("untrained", False), ("trained", True)):
        torch.manual_seed(0)
        objective = SoundtrackObjective(EmbedConfig(**audio_conf), AugmentConfig(), temperature=0.07,
                                        device=torch.device("cpu"), video=VideoEncoder(**video_conf))
        if trained:
            objective.modules["audio"].load_state_dict(audio_state)
            objective.modules["video"].load_state_dict(video_state)
        v, a = objective.embed_pairs(clips, items=args.soundtrack_items, workers=2)
        r = recall_at(v, a)
        video = np.array([str(clip.path) for clip, _ in ClipSampler(clips, objective.embed.window).grid(
            args.soundtrack_items)])
        right_video = float(np.mean(video[(v @ a.T).argmax(dim=1).numpy()] == video))  # the sound's clip, any time
        print(f"| {label} | {int(r['items'])} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['recall@10']:.3f} | "
              f"{r['chance@1']:.3f} | {r['chance@5']:.3f} | {r['chance@10']:.3f} | {right_video:.3f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--checkpoint", type=Path, help="fingerprint run's audio_encoder.safetensors (part A)")
    parser.add_argument("--held-out", nargs="+", default=[])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--lengths", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--soundtrack", type=Path)
    parser.add_argument("--soundtrack-val", type=Path)
    parser.add_argument("--soundtrack-items", type=int, default=256)
    args = parser.parse_args()
    if args.checkpoint:
        if not args.held_out:
            parser.error("--checkpoint needs --held-out (names of tracks the model did not train on)")
        fingerprint_table(args)
    if args.soundtrack:
        soundtrack_table(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
