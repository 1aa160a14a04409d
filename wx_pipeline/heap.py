"""The process's long-lived heap, taken out of the garbage collector's way.

A pipeline process holds ~300 MB of objects that live as long as it does (Dagster, its
definitions and dbt manifest, pandas): every full collection walked all of them again, and a
pass makes full collections frequent, since the answers it holds survive the young
generations. Frozen once, before the first pass, the collector walks only what came after.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_long_lived() -> None:
    """Collect once, then move every object alive now to the permanent generation (once per
    process: objects frozen later and dropped in a cycle would never be reclaimed)."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
