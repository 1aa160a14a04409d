"""The data path composed, without Dagster: the streaming pass that takes each chunk from the
client through the archive, the normalizer and the loader (`stream.py`), storing a chunk in a
loader process (`store.py`), the history planner (`history.py`) and where each account's data
stands (`status.py`). The Dagster assets, the history job and the CLI call these."""
