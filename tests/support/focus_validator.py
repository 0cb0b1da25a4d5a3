"""The FinOps Foundation's focus-validator, in its own Python 3.12 venv (it needs Python >= 3.12;
the project runs on 3.11). Made once under <repo>/.venv-focus; run from its site-packages folder,
because it reads its rule files by relative path."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-focus"
VERSION = "2.2.1"
RESULT = re.compile(r"^(?:✅|❌) (\S+): (PASS|FAIL|SKIP\w*)", re.M)


def find_python312() -> str | None:
    for candidate in ("python3.12", "python3.13"):
        found = shutil.which(candidate)
        if found and subprocess.run([found, "--version"], capture_output=True).returncode == 0:
            return found
    for pattern in ("/root/.pyenv/versions/3.1[23]*/bin/python3.1[23]",
                    str(Path.home() / ".pyenv/versions/3.1[23]*/bin/python3.1[23]"),
                    "/usr/bin/python3.1[23]", "/usr/local/bin/python3.1[23]"):  # fmt: skip
        for found in sorted(glob.glob(pattern)):
            return found
    return None


def ensure_validator() -> Path | None:
    """The venv's focus-validator command (installed if absent), or None without Python 3.12."""
    command = VENV / "bin" / "focus-validator"
    stamp = VENV / f".installed-{VERSION}"
    if stamp.exists() and command.exists():
        return command
    python = find_python312()
    if python is None:
        return None
    subprocess.run([python, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
    pip = [
        str(VENV / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, f"focus-validator=={VERSION}"], check=True, timeout=900)
    # Its pin (numpy < 2) and the pyarrow it resolves disagree: pyarrow needs numpy 2.
    subprocess.run([*pip, "numpy>=2"], check=True, timeout=600)
    stamp.touch()
    return command


def validate(command: Path, parquet: Path) -> dict[str, str]:
    """Rule id -> PASS/FAIL for FOCUS 1.2 on `parquet`."""
    site = next((VENV / "lib").glob("python3.*/site-packages"))
    run = subprocess.run(
        [str(command), "--data-file", str(parquet), "--validate-version", "1.2", "--block-download"],
        cwd=site, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    results = dict(RESULT.findall(run.stdout))
    if not results:
        raise RuntimeError(
            f"focus-validator printed no results:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    return results
