"""The progress channel: thousands of steps make a handful of updates, never losing the end."""

from __future__ import annotations

import logging

import pytest

from wx_pipeline.runtime import progress


def test_updates_are_throttled_but_phase_changes_and_the_end_always_show(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger=progress.LOGGER):
        for done in range(1, 2_001):
            progress.report("wechat/articles", "windows", done, 2_000)
        progress.report("wechat/articles", "checks", 0, 1)
    shown = [r.wx_progress for r in caplog.records if hasattr(r, "wx_progress")]
    assert 2 <= len(shown) < 100  # the first, the last, and one per interval at most
    assert shown[0] == ("wechat/articles", "windows", 1, 2_000)
    assert ("wechat/articles", "windows", 2_000, 2_000) in shown
    assert shown[-1] == ("wechat/articles", "checks", 0, 1)
