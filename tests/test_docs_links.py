"""What the code and docs cite is in the repository: every `docs/…` path and relative Markdown
link points at a file here, and nothing cites the design notes by a path outside the repo."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEXT = (".py", ".sql", ".yml", ".yaml", ".md", ".ipynb", ".toml", ".json")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [
        REPO / f
        for f in listed
        if f.endswith(TEXT) and not f.startswith("tests/fixtures/") and (REPO / f).is_file()
    ]


def test_cited_docs_exist_and_the_design_is_cited_in_the_repo():
    missing, outside = [], []
    for path in tracked_text_files():
        text = path.read_text(errors="replace")
        for cited in re.findall(r"\bdocs/[\w./-]+\.md", text):
            if not (REPO / cited).is_file():
                missing.append(f"{path.relative_to(REPO)}: {cited}")
        for match in re.finditer(r"[\w./-]*DESIGN\.md", text):
            outside.append(f"{path.relative_to(REPO)}: {match.group(0)}")
    assert missing == [] and outside == []


def test_relative_markdown_links_resolve():
    broken = []
    for path in tracked_text_files():
        if path.suffix != ".md":
            continue
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(REPO)}: {target}")
    assert broken == []
