"""The process's environment changed for a while, then restored."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped_environ(values: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` with ``values`` inside the block, as it was after it.

    For the settings a library reads from the environment and takes no other way (dagster-dbt
    starts dbt with a copy of it; Dagster reads its event batching there): nothing of one run's
    configuration stays behind for the next.
    """
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
