"""Freezing the process's long-lived heap: once, and only what is alive at that moment."""

from __future__ import annotations

import subprocess
import sys


def test_the_long_lived_heap_is_frozen_once_per_process() -> None:
    # In a process of its own: the test process's passes freeze its heap already.
    script = """
import gc
from wx_pipeline.runtime.heap import freeze_long_lived
before = gc.get_freeze_count()
freeze_long_lived()
frozen = gc.get_freeze_count()
later = [[i] for i in range(10_000)]  # made after the freeze: left to the collector
freeze_long_lived()
print(before, frozen, gc.get_freeze_count())
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    before, frozen, again = map(int, run.stdout.split())
    assert before == 0
    assert frozen > 1_000  # the interpreter's and the imports' objects
    assert again == frozen
