"""The import graph of ``videothat``: no cycle, and no import that points up a layer.

Layers, lowest first (a module may import its own package and any lower layer):

0. ``core``: the contract (records, timeline, errors, hashing, I/O, device, progress, registry)
1. ``media``, ``audio``, ``catalog``: container files; numerics on waveforms; the analysis cache
2. ``vision``, ``index``, ``match``: visual encoders; fingerprints and the store; the matcher
3. ``analysis``, ``report``, ``demo``: the analysis stage; the HTML reports; the demo material
4. ``pipeline``: the jobs, the only package that composes stages
5. ``settings``: configuration composed with Hydra into the config objects
6. ``cli``: the command

Imports under ``if TYPE_CHECKING:`` count too: an annotation that needs a module above, or
one that closes a circle, is a dependency all the same (it only hides until the type is
evaluated: ``typing.get_type_hints``, a documentation build).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "videothat"
LAYERS = [("core",), ("media", "audio", "catalog"), ("vision", "index", "match"),
          ("analysis", "report", "demo"), ("pipeline",), ("settings",), ("cli",)]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("videothat", *path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return {m for m in found if m in known and m != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_every_package_has_a_layer(graph):
    parts = {_part(m) for m in graph} - {""}
    assert parts <= set(RANK), f"give {sorted(parts - set(RANK))} a layer in this test and in docs/development.md"


def test_no_upward_or_sideways_import(graph):
    bad = [f"{a} -> {b}" for a, targets in graph.items() for b in targets
           if _part(a) and _part(b) and _part(a) != _part(b) and RANK[_part(b)] >= RANK[_part(a)]]
    assert not bad, "imports that point up (or across) a layer:\n" + "\n".join(sorted(bad))


def test_no_import_cycle(graph):
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*stack, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_the_library_never_imports_train():
    offenders = [str(p) for p in ROOT.rglob("*.py") if "from train" in p.read_text() or "import train" in p.read_text()]
    assert not offenders


def test_the_checker_sees_an_upward_import(tmp_path):
    """The checks can fail: a media module importing the matcher is an upward edge."""
    fake = {"videothat.media.x": {"videothat.match.search"}, "videothat.match.search": set()}
    bad = [f"{a} -> {b}" for a, targets in fake.items() for b in targets
           if _part(a) != _part(b) and RANK[_part(b)] >= RANK[_part(a)]]
    assert bad == ["videothat.media.x -> videothat.match.search"]


def test_an_import_for_annotations_only_counts(tmp_path):
    """An import under ``if TYPE_CHECKING:`` is an edge like any other (it closed the
    media.config <-> media.shots circle while it was not counted)."""
    fake = tmp_path / "shots.py"
    fake.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from videothat.media.config import X\n")
    known = {"videothat.media.shots", "videothat.media.config"}
    assert _imports("videothat.media.shots", fake, known) == {"videothat.media.config"}
