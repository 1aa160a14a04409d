"""Alembic migrations of the `wechat` and `wechat_raw` schemas (see `warehouse/migrate.py`)."""
