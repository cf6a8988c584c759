"""The module map of docs/architecture.md, enforced: one direction of imports, no private cross-package names.

A *unit* is a top-level module or subpackage of ``cxlib`` (``metrics``, ``journey``, ``sections``...).  Every
``from ... import`` inside cxlib (function-level ones included) is read with :mod:`ast`:

- no unit imports a private (``_``-prefixed) module or name of another unit: what crosses a package boundary
  is public and documented (``cxlib._deprecation`` and ``cxlib._fs``, the package root's own helpers, excepted);
- imports run down the layers of :data:`LAYERS` (a unit may import its own layer or lower ones), so there is
  no cycle and no analysis imports notebook glue (``cxlib.sections``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "cxlib"

#: The layers, lowest first (docs/architecture.md).  A unit may import units of its own or a lower layer;
#: within one layer, the order of :data:`SAME_LAYER_ORDER` forbids cycles.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_deprecation", "_fs", "hashing", "schema", "format", "periods", "stats", "grouping", "display",
     "escape"),
    ("findings", "privacy", "data", "engine", "requirements"),
    ("metrics", "significance", "journey", "survival", "clv", "evaluation", "voc", "segments", "actions"),
    ("plots", "synth"),
    ("report",),
    ("sections",),
    ("cli", "__init__", "__main__"),
    # deprecated stubs at the old paths of moved glue modules (one release): they forward to sections
    ("overview", "summary"),
)
#: Within the analysis layer, who may import whom (the rest must not import each other).
ANALYSIS_DEPENDS = {
    "metrics": {"journey"},  # the journey metrics cut journeys with cxlib.journey.sessions (the one definition)
    "significance": {"metrics"},
    "journey": set(),  # the journey definition sits below the metrics that use it (no cycle)
    "segments": {"metrics", "significance"},
    "voc": {"metrics"},
    "clv": {"survival"},  # the value-at-stake pipeline combines CLV with the Cox churn model
    "actions": {"metrics", "significance", "clv", "survival", "voc", "journey"},
}
#: Deprecated stubs left at the old glue paths forward lazily to cxlib.sections (removed next release).
STUBS = {"clv/report.py", "survival/report.py", "journey/report.py", "voc/report.py", "segments/report.py",
         "actions/report.py", "evaluation/report.py", "significance/review.py", "overview.py", "summary.py"}


def _unit(parts: tuple[str, ...]) -> str:
    return parts[0] if parts else "__init__"


def imports() -> list[tuple[str, str, list[str], list[str], int]]:
    """(file, source unit, target module path, imported names, line) for every cxlib-internal import."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        mod = rel.with_suffix("").parts
        pkg = mod[:-1]
        src = _unit(mod) if len(mod) > 1 or mod[0] != "__init__" else "__init__"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = list(pkg[:len(pkg) - node.level + 1]) if node.level > 1 else list(pkg)
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "cxlib":
                target = node.module.split(".")[1:]
            else:
                continue
            found.append((str(rel), src, target, [a.name for a in node.names], node.lineno))
    return found


def _layer(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"cxlib unit {unit!r} is in no layer of tests/test_architecture.py: place it "
                         "(and in docs/architecture.md)")


def test_every_unit_is_placed_in_a_layer() -> None:
    units = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py")}
    for unit in units:
        _layer(unit)


def test_no_private_cross_package_imports() -> None:
    bad = []
    for file, src, target, names, line in imports():
        if not target or target[0] == src:
            continue
        if target[0] in {"_deprecation", "_fs"}:
            continue
        private_path = [p for p in target if p.startswith("_") and p != "__init__"]
        private_names = [n for n in names if n.startswith("_") and n not in {"__version__"}]
        if private_path or private_names:
            bad.append(f"{file}:{line} imports {'.'.join(target)} {private_names or ''}")
    assert not bad, "private names imported across packages (make them public in their home):\n" + "\n".join(bad)


def test_imports_run_down_the_layers() -> None:
    bad = []
    for file, src, target, names, line in imports():
        if not target or file in STUBS:
            continue
        dst = target[0] if target[0] else "__init__"
        if dst == src:
            continue
        ls, ld = _layer(src), _layer(dst)
        if ld > ls:
            bad.append(f"{file}:{line}: {src} (layer {ls}) imports {'.'.join(target)} (layer {ld})")
        elif ld == ls == _layer("metrics") and dst not in ANALYSIS_DEPENDS.get(src, set()):
            bad.append(f"{file}:{line}: analysis {src} imports analysis {dst} (not in ANALYSIS_DEPENDS)")
    assert not bad, "imports that run up or sideways:\n" + "\n".join(bad)


@pytest.mark.parametrize("stub", sorted(STUBS))
def test_moved_glue_modules_warn_at_their_old_path(stub: str) -> None:
    import importlib

    name = "cxlib." + stub[:-3].replace("/", ".")
    module = importlib.import_module(name)
    text = (ROOT / stub).read_text(encoding="utf-8")
    assert "Deprecated" in text
    public = [n for n in dir(importlib.import_module("cxlib.sections." + {
        "clv/report.py": "clv", "survival/report.py": "churn", "journey/report.py": "journeys",
        "voc/report.py": "voc", "segments/report.py": "segments", "actions/report.py": "actions",
        "evaluation/report.py": "evaluation", "significance/review.py": "metrics", "overview.py": "overview",
        "summary.py": "summary"}[stub])) if not n.startswith("_") and n.islower()]
    assert public
    with pytest.warns(DeprecationWarning, match="deprecated"):
        getattr(module, public[0])
