"""`tokenlake-dbt`: the dbt executable Dagster's dbt steps start.

It is dbt's own command line (same arguments, output and exit status), ended by quick_exit: the
interpreter's clean-up after a dbt build is about half a second of every hourly run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from orchestration.quick_exit import run_then_quick_exit
from orchestration.settings import DBT_EXECUTABLE

# This command's script beside this Python; dbt itself where the package's scripts are not
# installed (the project run from a source tree).
_SCRIPT = Path(sys.executable).with_name("tokenlake-dbt")
DBT_STEP_EXECUTABLE = str(_SCRIPT) if _SCRIPT.exists() else DBT_EXECUTABLE


def main() -> NoReturn:
    from dbt.cli.main import cli

    run_then_quick_exit(cli)


if __name__ == "__main__":
    main()
