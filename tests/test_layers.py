"""No app imports a higher one (#9): the apps under ``apps/`` form layers, and every import of
another app's module (at module level or inside a function) goes down the order, never up or
sideways into the same layer. A new app is placed in ``LAYERS``; the test fails for an app that
is not, so the order is decided when the app is added."""

from __future__ import annotations

import ast
from pathlib import Path

APPS = Path(__file__).resolve().parent.parent / "apps"

#: Lowest first. Apps in one layer do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("udil",),  # the protocol, a plain package
    ("core",),
    ("audit",),
    ("accounts",),
    ("registry",),
    ("warehouse", "simulator"),
    ("ingestion", "commands", "conformance"),
    ("vee",),
    ("billing",),
    ("analytics", "workflows"),
    ("dashboard",),  # the home page and the demo: may use every app
)
RANK = {app: rank for rank, layer in enumerate(LAYERS) for app in layer}


def _apps() -> list[str]:
    return sorted(p.name for p in APPS.iterdir() if (p / "__init__.py").exists())


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) >= 2 and parts[0] == "apps":
                yield node.lineno, parts[1]


def _violations() -> list[str]:
    found = []
    for app in _apps():
        for path in sorted((APPS / app).rglob("*.py")):
            relative = path.relative_to(APPS / app)
            if relative.parts[0] in ("tests", "migrations"):
                continue  # tests use what they test against; migrations are generated
            for line, other in _imports(path):
                if other == app or other not in RANK:
                    continue
                if RANK[other] >= RANK[app]:
                    found.append(f"apps/{app}/{relative}:{line} imports apps.{other}")
    return found


def test_every_app_has_a_layer():
    assert [app for app in _apps() if app not in RANK] == []


def test_no_app_imports_a_higher_or_sibling_app():
    assert _violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The walk is real: a module of a low app importing a high one is reported."""
    for app in ("core", "registry"):
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from apps.registry import x\n")
    monkeypatch.setattr(f"{__name__}.APPS", tmp_path)
    assert _violations() == ["apps/core/bad.py:2 imports apps.registry"]
