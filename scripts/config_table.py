"""Write the config table of docs/configuration.md from the YAML groups in videothat/configs.

Each row is a key, its default as the YAML file writes it, and the key's comment (inline, or
the comment line directly above it), so the YAML stays the one place defaults are written.
The rows are :func:`videothat.settings.config_keys`, which ``videothat config`` prints too.

    python scripts/config_table.py          # rewrite the table between the markers
    python scripts/config_table.py --check  # exit 1 (and change nothing) if the table is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from videothat.settings import COMMAND_GROUPS, TRAINING_GROUPS, ConfigKey, config_keys

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "configuration.md"
BEGIN, END = "<!-- BEGIN GENERATED CONFIG TABLE -->", "<!-- END GENERATED CONFIG TABLE -->"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def row(key: ConfigKey) -> str:
    """One table row: a key (with the values of its group's other options), or a group."""
    if key.options:
        listed = ", ".join(f"`{o}`" for o in key.options)
        return f"| `{key.key}` | `{key.default}` | group: {listed} (`configs/{key.key}/*.yaml`) |"
    shown = f"`{cell(key.default)}`"
    if key.variants:
        shown += f" ({key.option})" + "".join(f"; `{cell(v)}` ({o})" for o, v in key.variants)
    return f"| `{key.key}` | {shown} | {cell(key.meaning)} |"


def table() -> str:
    """The Markdown table, one row per key (and one per group with several options): the
    videothat command's config (as ``videothat config`` lists it), then the training entry
    point's groups."""
    keys = config_keys("config", COMMAND_GROUPS) + config_keys("fit", TRAINING_GROUPS, own=False)
    return "\n".join(["| key | default | meaning |", "|---|---|---|", *map(row, keys)]) + "\n"


def render(doc: str) -> str:
    """``doc`` with the text between the markers replaced by :func:`table`."""
    head, sep, rest = doc.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not (sep and sep2):
        raise SystemExit(f"{DOC}: markers {BEGIN} / {END} not found")
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the table differs; write nothing")
    args = parser.parse_args(argv)
    doc = DOC.read_text()
    new = render(doc)
    if args.check:
        if new != doc:
            print(f"{DOC} is stale: run python scripts/config_table.py", file=sys.stderr)
            return 1
        return 0
    if new != doc:
        DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
