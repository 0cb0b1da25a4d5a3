"""A dbt process started ahead of the run's dbt step, so that dbt's import is not on the run's
critical path.

Importing dbt takes 1.5-1.8 s of a fresh process, about a tenth of the hourly `tokenlake run`,
and the run waits for it: its dbt step starts a new `tokenlake-dbt` process. So `tokenlake run`
starts a standby at its beginning (start()): a process that imports dbt on the second core while
the run imports Dagster and loads the logs, then waits on a Unix socket in a private folder. The
step's `tokenlake-dbt` finds the socket (STANDBY_SOCKET in its environment) and hands the standby
its standard streams, arguments, environment and working directory (delegate()); the standby
runs dbt as that process would have, sends back the exit status and ends. `tokenlake-dbt` then
ends with that status; an interrupt or termination it receives is passed on to the standby.

One standby serves one dbt invocation (the hourly run has one); a later one, or one that finds
no standby (a run started from the Dagster UI, a standby that failed), runs dbt itself. The
standby ends with the process that started it (it watches a pipe from it), and removes its folder.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from typing import NoReturn

# The standby's socket, in the environment of the process that started it (and its children).
STANDBY_SOCKET = "TOKENLAKE_DBT_STANDBY"
_HEADER = struct.Struct("!Q")  # length of the request's JSON
_STREAMS = (0, 1, 2)
_INTERRUPTED = 130  # the status of a process ended by SIGINT, as a shell reports it

_standby: subprocess.Popen | None = None


def start() -> None:
    """Start this process's standby and name its socket in the environment (inherited by the
    processes this one starts). It ends when this process ends."""
    global _standby
    try:
        folder = tempfile.mkdtemp(prefix="tokenlake-dbt-")  # mode 0700: only this user connects
        path = os.path.join(folder, "socket")
        # Listening before this returns: a request made while the standby starts waits for it.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(path)
            listener.listen(1)
            # stdin is the pipe the standby watches: it closes when this process ends, however.
            _standby = subprocess.Popen(
                [sys.executable, "-m", "orchestration.dbt_standby", str(listener.fileno()), folder],
                stdin=subprocess.PIPE,
                pass_fds=[listener.fileno()],
            )
    except OSError as exc:  # a speed-up only: the dbt step starts its own dbt
        print(f"tokenlake: no standby dbt process ({exc})", file=sys.stderr)
        return
    os.environ[STANDBY_SOCKET] = path
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


def serve(listener_fd: int, folder: str) -> NoReturn:
    """The standby: import dbt, then run the first request's dbt, or end when the process that
    started it ends."""
    # Stopping the run interrupts its whole process group: idle, this process just goes on
    # waiting for the pipe to close (a request's dbt is interruptible again, below).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(fileno=listener_fd)
    import dbt.adapters.duckdb  # noqa: F401  the adapter every project run here uses
    import dbt.cli.main  # noqa: F401
    import dbt.task.build  # noqa: F401

    ready, _, _ = select.select([listener, sys.stdin], [], [])
    connection = listener.accept()[0] if listener in ready else None
    listener.close()
    shutil.rmtree(folder, ignore_errors=True)
    if connection is None:  # the process that started it has ended
        os._exit(0)
    _run_request(connection)


def _run_request(connection: socket.socket) -> NoReturn:
    """Become the requesting process (streams, arguments, environment, directory), run dbt and
    send back its status."""
    from dbt.cli.main import cli

    from orchestration.quick_exit import finish, status_of

    request, fds = _receive(connection)
    for target, fd in zip(_STREAMS, fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = argv = request["argv"]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    connection.sendall(f"pid {os.getpid()}\n".encode())
    done = threading.Event()
    threading.Thread(target=_killed_with_requester, args=(connection, done), daemon=True).start()
    try:
        # The program name given, not guessed: click would name this process `python -m ...`.
        code = status_of(lambda: cli.main(args=argv[1:], prog_name=os.path.basename(argv[0])))
    except KeyboardInterrupt:
        code = _INTERRUPTED
    # dbt-duckdb closes the warehouse in an atexit handler: closed before the requester ends,
    # so that the run's next step can open it.
    finish()
    done.set()
    with contextlib.suppress(OSError):
        connection.sendall(f"exit {code}\n".encode())
    os._exit(code)


def _killed_with_requester(connection: socket.socket, done: threading.Event) -> None:
    """End dbt at once if the requesting process ends first. It passes SIGINT and SIGTERM on and
    waits, so it ended by SIGKILL (Dagster's step gave up on dbt stopping): this process, the
    dbt its caller meant to kill, must not go on holding the warehouse."""
    with contextlib.suppress(OSError):
        connection.recv(1)
    if not done.is_set():
        os.kill(os.getpid(), signal.SIGKILL)


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(connection, _HEADER.size, len(_STREAMS))
    data += _read_exactly(connection, _HEADER.size - len(data))
    (length,) = _HEADER.unpack(data)
    return json.loads(_read_exactly(connection, length)), fds


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = connection.recv(size)
        if not chunk:
            raise ConnectionError("the request ended early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def delegate(path: str, argv: list[str]) -> int | None:
    """Run dbt's command line `argv` (sys.argv of a dbt process) in the standby at `path`, with
    this process's streams, environment and directory; its status, or None when no standby
    answers (then nothing was run)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError:
        connection.close()
        return None
    env = {k: v for k, v in os.environ.items() if k != STANDBY_SOCKET}
    body = json.dumps({"argv": argv, "env": env, "cwd": os.getcwd()}).encode()
    with connection:
        try:
            socket.send_fds(connection, [_HEADER.pack(len(body))], list(_STREAMS))
            connection.sendall(body)
            replies = connection.makefile("r")
            first = replies.readline()
        except OSError:
            first = ""
        if not first.startswith("pid "):
            return None  # the standby went away before running anything
        _pass_signals_to(int(first.split()[1]))
        last = replies.readline()
    if last.startswith("exit "):
        return int(last.split()[1])
    print("tokenlake-dbt: the dbt process ended without a status", file=sys.stderr)
    return 1


def _pass_signals_to(pid: int) -> None:
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
