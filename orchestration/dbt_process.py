"""`tokenlake-dbt`: the dbt executable Dagster's dbt steps start.

It is dbt's own command line (same arguments, output and exit status), run by the run's standby
dbt process when there is one (dbt_standby.py: dbt already imported), else here; ended by
quick_exit: the interpreter's clean-up after a dbt build is about half a second of every hourly
run. It imports neither dbt nor the settings before it knows it must run dbt itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from orchestration.dbt_standby import STANDBY_SOCKET, delegate
from orchestration.quick_exit import quick_exit, run_then_quick_exit

# This command's script beside this Python; dbt itself (settings.DBT_EXECUTABLE) where the
# package's scripts are not installed (the project run from a source tree).
_SCRIPT = Path(sys.executable).with_name("tokenlake-dbt")
DBT_STEP_EXECUTABLE = str(_SCRIPT) if _SCRIPT.exists() else str(_SCRIPT.with_name("dbt"))


def main() -> NoReturn:
    standby = os.environ.get(STANDBY_SOCKET)
    status = delegate(standby, sys.argv) if standby else None
    if status is not None:
        quick_exit(status)
    from dbt.cli.main import cli

    run_then_quick_exit(cli)


if __name__ == "__main__":
    main()
