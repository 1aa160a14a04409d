"""A progress channel from the assets to whoever watches: ``wx-pipeline run`` draws bars.

It rides on ``logging`` so producers need no reference to a display, and runs without a
listener (the Dagster UI, tests) cost one disabled log call per step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

LOGGER = "wx_pipeline.runtime.progress"
_log = logging.getLogger(LOGGER)


#: The fewest seconds between two reports of a task in the same phase: a hundred accounts'
#: windows are thousands of steps, and each drawn took ~0.7 ms of the loading threads.
INTERVAL = 0.1
_last: dict[str, tuple[str, float]] = {}


def report(task: str, phase: str, done: int, total: int) -> None:
    """``task`` (an asset, dbt) reached ``done`` of ``total`` in ``phase``."""
    if _log.isEnabledFor(logging.DEBUG):
        now = time.monotonic()
        last_phase, last_time = _last.get(task, ("", 0.0))
        if done < total and phase == last_phase and now - last_time < INTERVAL:
            return
        _last[task] = (phase, now)
        _log.debug(
            "%s %s %d/%d",
            task,
            phase,
            done,
            total,
            extra={"wx_progress": (task, phase, done, total)},
        )


class _RichHandler(logging.Handler):
    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.DEBUG)
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def emit(self, record: logging.LogRecord) -> None:
        item = getattr(record, "wx_progress", None)
        if item is None:
            return
        task, phase, done, total = item
        if task not in self._tasks:
            self._tasks[task] = self._progress.add_task(task, total=total, phase=phase)
        self._progress.update(self._tasks[task], completed=done, total=total, phase=phase)


@contextmanager
def live_progress(console: Console | None = None) -> Iterator[None]:
    """Show a bar per task while the block runs (on a terminal; plain lines otherwise)."""
    progress = Progress(
        TextColumn("[bold]{task.description:<16}"),
        TextColumn("{task.fields[phase]:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    handler = _RichHandler(progress)
    level = _log.level
    _log.addHandler(handler)
    _log.setLevel(logging.DEBUG)
    try:
        with progress:
            yield
    finally:
        _log.removeHandler(handler)
        _log.setLevel(level)
