"""The imports follow the data's one-way flow (docs/architecture.md): the dlt sources never import
the orchestration that runs them."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_ingestion_never_imports_orchestration():
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "orchestration")
        for path in (REPO / "ingestion").rglob("*.py")
    }  # fmt: skip
    assert {k: v for k, v in offenders.items() if v} == {}
