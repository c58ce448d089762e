"""Write the config table of docs/configuration.md from the YAML groups in videothat/configs.

Each row is a key, its default as the YAML file writes it, and the key's comment (inline, or
the comment line directly above it), so the YAML stays the one place defaults are written.

    python scripts/config_table.py          # rewrite the table between the markers
    python scripts/config_table.py --check  # exit 1 (and change nothing) if the table is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "videothat" / "configs"
DOC = ROOT / "docs" / "configuration.md"
BEGIN, END = "<!-- BEGIN GENERATED CONFIG TABLE -->", "<!-- END GENERATED CONFIG TABLE -->"
# (root config, its groups in table order): the videothat command's, then the training entry point's
SECTIONS = (("config", ("audio", "shots", "analysis", "match", "render", "index", "vision", "mosaic", "soundtrack",
                        "music")),
            ("fit", ("embed", "augment", "train")))
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[\w.]+):(?P<rest>.*)$")


def entries(path: Path) -> list[tuple[str, str, str]]:
    """(dotted key, value as written, comment) for every key with a value in a YAML file;
    ``defaults`` lists, list items and ``_target_`` are left out."""
    out: list[tuple[str, str, str]] = []
    parents: list[tuple[int, str]] = []  # (indent, key) of the open mapping headers
    above = ""  # the comment line directly above, if the previous non-blank line is one
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            above = stripped.lstrip("#").strip()
            continue
        match = KEY_LINE.match(line)
        if match is None:  # a list item or other continuation line
            above = ""
            continue
        indent, key = len(match["indent"]), match["key"]
        parts = re.split(r"\s#\s?", match["rest"], maxsplit=1)
        value, comment = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else above)
        above = ""
        while parents and parents[-1][0] >= indent:
            parents.pop()
        if not value:  # a mapping header (or the defaults list)
            parents.append((indent, key))
            continue
        if key == "_target_" or any(k == "defaults" for _, k in parents):
            continue
        out.append((".".join([k for _, k in parents] + [key]), value, comment))
    return out


def default_options(root: str) -> dict[str, str]:
    """Group -> the option the root config's ``defaults`` list selects."""
    defaults = yaml.safe_load((CONFIGS / f"{root}.yaml").read_text()).get("defaults", [])
    return {k: v for item in defaults if isinstance(item, dict) for k, v in item.items()}


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def table() -> str:
    """The Markdown table, one row per key (and one per group with several options)."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, value, comment in entries(CONFIGS / "config.yaml"):  # the root keys (device)
        rows.append(f"| `{key}` | `{cell(value)}` | {cell(comment)} |")
    for root, groups in SECTIONS:
        chosen = default_options(root)
        for group in groups:
            options = sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))
            default = chosen[group]
            if len(options) > 1:
                listed = ", ".join(f"`{o}`" for o in options)
                rows.append(f"| `{group}` | `{default}` | group: {listed} (`configs/{group}/*.yaml`) |")
            others = {o: dict((k, v) for k, v, _ in entries(CONFIGS / group / f"{o}.yaml"))
                      for o in options if o != default}
            for key, value, comment in entries(CONFIGS / group / f"{default}.yaml"):
                shown = f"`{cell(value)}`"
                differ = [(o, vals[key]) for o, vals in others.items() if vals.get(key, value) != value]
                if differ:
                    shown += f" ({default})" + "".join(f"; `{cell(v)}` ({o})" for o, v in differ)
                rows.append(f"| `{group}.{key}` | {shown} | {cell(comment)} |")
    return "\n".join(rows) + "\n"


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
