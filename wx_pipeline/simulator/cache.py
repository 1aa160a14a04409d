"""A bounded least-recently-used cache for the simulator's generated data and answer bodies.

Everything cached is a pure function of its key (seed, account, endpoint, day, processing
view), so evicting an entry only costs generating it again: answers stay identical. Unbounded,
the caches grew with every (account, day) served: 100 accounts x a year reached 7.6 GB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """At most ``max_entries`` values and, with ``size``, at most ``max_size`` in total (e.g.
    bytes); the least recently used go first. Safe to share between threads."""

    def __init__(
        self,
        max_entries: int,
        *,
        max_size: int | None = None,
        size: Callable[[V], int] | None = None,
    ) -> None:
        if max_entries < 1 or (max_size is not None and max_size < 1):
            raise ValueError("an LruCache holds at least one entry")
        if (max_size is None) != (size is None):
            raise ValueError("max_size and size go together")
        self.max_entries = max_entries
        self.max_size = max_size
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def total_size(self) -> int:
        """The sum of the values' sizes (0 without ``size``)."""
        return self._total

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` (replacing the key's), then evict down to the bounds; a value larger
        than ``max_size`` on its own is not kept."""
        added = self._size(value) if self._size is not None else 0
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None and self._size is not None:
                self._total -= self._size(old)
            if self.max_size is not None and added > self.max_size:
                return
            self._items[key] = value
            self._total += added
            while len(self._items) > self.max_entries or (
                self.max_size is not None and self._total > self.max_size
            ):
                _, evicted = self._items.popitem(last=False)
                if self._size is not None:
                    self._total -= self._size(evicted)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The cached value, or ``make()`` kept and returned (made outside the lock: two
        threads may both make it, with the same result)."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._total = 0
