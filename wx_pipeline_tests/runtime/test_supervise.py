"""A supervised server: stopped whole (its process group) on SIGTERM within the grace period,
and stopped when its provisioning fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from wx_pipeline.runtime.supervise import supervise

#: A server that ignores SIGTERM and has a child of its own: only the group kill ends both.
STUBBORN = "trap '' TERM; sleep 300 & echo $! > {pids}; echo $$ >> {pids}; wait"


def _alive(pids: list[int]) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]


def test_sigterm_stops_the_whole_group_within_the_grace(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    code = (
        "import os, sys\n"
        "from wx_pipeline.runtime.supervise import supervise\n"
        f"argv = ['sh', '-c', {STUBBORN.format(pids=pids_file)!r}]\n"
        "sys.exit(supervise(argv, os.environ, grace=1.0))\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while not (pids_file.exists() and len(pids_file.read_text().split()) == 2):
        assert runner.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.1)
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(_alive(pids)) == 2
    started = time.monotonic()
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=10) == 0  # stopped by a signal: a clean exit
    assert time.monotonic() - started < 5
    assert _alive(pids) == []


def test_a_failed_provisioning_stops_the_server(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    seen: list[int] = []

    def provision(alive: object) -> None:
        deadline = time.monotonic() + 30
        while not (pids_file.exists() and len(pids_file.read_text().split()) == 2):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        seen.extend(int(p) for p in pids_file.read_text().split())
        raise RuntimeError("the import failed")

    argv = ["sh", "-c", STUBBORN.format(pids=pids_file)]
    with pytest.raises(RuntimeError, match="the import failed"):
        supervise(argv, os.environ, grace=1.0, started=provision)
    assert len(seen) == 2
    deadline = time.monotonic() + 5
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(seen) == []


def test_the_server_does_not_outlive_a_killed_supervisor(tmp_path: Path) -> None:
    """SIGKILL leaves the supervisor no chance to stop the server: the kernel tells it."""
    pid_file = tmp_path / "pid"
    code = (
        "import os, sys\n"
        "from wx_pipeline.runtime.supervise import supervise\n"
        f"argv = ['sh', '-c', 'echo $$ > {pid_file}; exec sleep 300']\n"
        "sys.exit(supervise(argv, os.environ, grace=1.0))\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert runner.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.1)
    server = int(pid_file.read_text())
    assert _alive([server]) == [server]
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive([server]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive([server]) == []
