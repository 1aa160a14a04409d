"""Services as processes, started and stopped the way a container runtime or a service manager
does: default signal dispositions, a session of their own, SIGTERM to stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import psutil

#: A container stop waits this long after SIGTERM before SIGKILL.
STOP_SECONDS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def default_signals() -> None:
    """``preexec_fn``: a container's processes start with default dispositions; pytest's may
    have SIGINT ignored (a background job), which Dagster's CLI would extend to SIGTERM."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def terminate(process: subprocess.Popen[bytes]) -> tuple[float, list[int]]:
    """SIGTERM ``process``; the seconds until it and every process it started are gone, and the
    pids still running after ``STOP_SECONDS`` (an exited process nobody reaped - no init here -
    counts as gone). A process that outlives SIGTERM by 20 s more raises TimeoutExpired."""
    children = psutil.Process(process.pid).children(recursive=True)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=STOP_SECONDS + 20)
    left = max(0.0, STOP_SECONDS - (time.monotonic() - started))
    _, alive = psutil.wait_procs(children, timeout=left)
    running = [p.pid for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    return time.monotonic() - started, running
