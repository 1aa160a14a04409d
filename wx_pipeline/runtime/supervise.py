"""A server run as a child process group in the foreground until a stop signal: how
`wx-pipeline dev` runs `dagster dev` and `wx-pipeline bi serve` runs Superset.

The child gets a process group of its own, which is stopped whole: on SIGTERM or Ctrl-C it is
asked to stop (SIGTERM), and whatever of the group is left after the grace period is killed
(a server's workers whose parent went first outlive it otherwise). A container stop waits
10 s before SIGKILL, so the grace periods stay below that.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import IO, Any

#: prctl(2)'s option asking the kernel to signal a process when its parent dies.
_PR_SET_PDEATHSIG = 1
#: libc's prctl, looked up here: the child, between fork and exec, only calls it.
_prctl = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl
    if sys.platform == "linux"
    else None
)


def default_signals() -> None:
    """A shell starts background jobs with SIGINT ignored (a service manager may too), and
    servers such as `dagster dev` map SIGTERM onto SIGINT's disposition: both would then be
    ignored. Ignored signals stay ignored across exec; default ones end the child."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def _server_child() -> None:
    """The supervised child's set-up: default signals, and (Linux) SIGTERM from the kernel
    should the supervisor die without stopping it (SIGKILL, OOM): a server in a session of
    its own is otherwise left running with nobody to stop it."""
    default_signals()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    grace: float,
    started: Callable[[Callable[[], bool]], None] | None = None,
    output: IO[Any] | None = None,
) -> int:
    """Run `argv` until it exits or a stop signal arrives; the exit status to end with (0 when
    stopped by a signal). `started` runs once the child is started (e.g. waits until it
    answers and provisions it); if it raises, the child is stopped and the error goes on.
    `output`: where the child's stdout and stderr go (default: this process's)."""
    child = subprocess.Popen(
        list(argv),
        env=dict(env),
        start_new_session=True,
        preexec_fn=_server_child,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    stopping: list[float] = []

    def stop(_signum: int, _frame: object) -> None:
        if not stopping:
            stopping.append(time.monotonic())
            with suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        if started is not None:
            try:
                started(lambda: child.poll() is None and not stopping)
            except Exception:
                if not stopping:
                    raise
        while child.poll() is None and not (stopping and time.monotonic() - stopping[0] > grace):
            time.sleep(0.1)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # what is left of the group, if anything
        child.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0 if stopping else child.returncode
