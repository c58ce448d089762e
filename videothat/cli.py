"""The ``videothat`` command.

Subcommands parse paths, compose the Hydra config from ``configs/`` with ``key=value``
overrides, call :mod:`videothat.pipeline` and print progress and results. Errors are one
line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from pathlib import Path

from videothat.errors import ParameterError, VideoThatError

log = logging.getLogger("videothat")

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
OVERRIDE = re.compile(r"^[+~]{0,2}[A-Za-z_][\w.]*=")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/videothat`` (``~/.cache/videothat``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "videothat"


def split_overrides(args: list[str]) -> tuple[list[str], list[str]]:
    """Separate ``key=value`` overrides from paths (an existing path is always a path)."""
    paths, overrides = [], []
    for arg in args:
        (overrides if OVERRIDE.match(arg) and not Path(arg).exists() else paths).append(arg)
    return paths, overrides


def compose_config(overrides: list[str]) -> dict:
    """The root config composed with Hydra from ``configs/``, as a plain dict."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not CONFIG_DIR.is_dir():
        raise ParameterError(f"config folder {CONFIG_DIR} is missing; reinstall with `pip install -e .`")
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ParameterError(f"bad override ({' '.join(overrides)}): {exc}".splitlines()[0]) from exc
    return OmegaConf.to_container(cfg, resolve=True)


def cmd_analyze(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from videothat.catalog import Catalog
    from videothat.config import analysis_config
    from videothat.pipeline import analyze

    paths, overrides = split_overrides(args.items)
    if not paths:
        raise ParameterError("analyze needs at least one file or folder")
    config = analysis_config(compose_config(overrides))
    catalog = Catalog(args.cache_dir, config.cache_params())
    bars: list[tqdm] = []
    counts = {"cached": 0, "analysed": 0, "failed": 0}

    def on_total(n: int) -> None:
        bars.append(tqdm(total=n, unit="file", desc="analyze", disable=args.quiet, dynamic_ncols=True))

    def on_file(path: Path, status: str) -> None:
        counts[status] += 1
        bars[0].set_postfix(counts, refresh=False)
        bars[0].update(1)

    t0 = time.perf_counter()
    try:
        report = analyze(paths, config, catalog=catalog, on_file=on_file, on_total=on_total)
    finally:
        for bar in bars:
            bar.close()
        catalog.close()
    print_summary(report, time.perf_counter() - t0)
    return 1 if report.failures else 0


def print_summary(report, seconds: float) -> None:
    rows = [
        ("files analysed", f"{len(report.analyses)} ({report.cached} from cache)"),
        ("shots", f"{report.n_shots}"),
        ("audio duration", f"{report.total_duration:.1f} s"),
        ("failures", f"{len(report.failures)}"),
        ("wall time", f"{seconds:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    for failure in report.failures:
        print(f"FAILED {failure.message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videothat",
        description="Match shots to a song by their sound and cut music videos.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "analyze",
        help="cut videos into shots and compute each shot's spectral novelty (cached)",
        description="Analyse media files and folders (recursive). Config overrides as "
        "key=value, e.g. audio.hop_length=256 shots=adaptive device=cpu.",
    )
    p.add_argument("items", nargs="+", metavar="PATH|key=value")
    p.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                   help="analysis cache folder (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except VideoThatError as exc:
        print(f"videothat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("videothat: interrupted; finished work is cached, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
