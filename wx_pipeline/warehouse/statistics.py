"""Planner statistics after big loads: the fact tables a pass grew by a large share are
analysed at its end, before the marts' run that follows reads them.

PostgreSQL's autovacuum analyses a table once about a tenth of it changed, within a minute or
so; after a backfill the marts' run starts at once, and plans a year's window on the
statistics of a nearly empty table (row counts, the range of `ref_date`). The same share
applies here, at once, to a table's growth: a nightly day (under 1% of a year) never triggers
it, nor do the days it re-pulls (the article totals of the last month, rewritten every night).

An ANALYZE never waits for an autovacuum at work on the table (SKIP_LOCKED): PostgreSQL
cancels an autovacuum that blocks another command, and an ANALYZE after each nightly pass
once kept the largest article tables from ever being vacuumed: after a week of a hundred
accounts they held 8 dead rows for each live one, grew without bound, and their plans slowed.
The autovacuum that holds the lock analyses the table itself when it is due.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from wx_pipeline.warehouse.schema import FACT_SCHEMA

#: A table is analysed when a pass loaded this share of its rows as last analysed (or more)...
GROWTH_SHARE = 0.1
#: ...plus these rows: autovacuum's own defaults (autovacuum_analyze_scale_factor, _threshold).
GROWTH_ROWS = 50


def analyse_grown(engine: sa.Engine, grown: Mapping[str, int]) -> list[str]:
    """ANALYZE each fact table whose ``grown`` rows (added, net of those replaced) reach
    ``GROWTH_SHARE`` of the rows its statistics counted (never analysed: any rows), unless an
    autovacuum holds it; the tables asked for."""
    quote = engine.dialect.identifier_preparer.quote
    done = []
    with engine.connect() as conn:
        counted: dict[str, float] = {
            str(name): float(tuples)  # type: ignore[arg-type]
            for name, tuples in conn.execute(
                sa.text(
                    "select c.relname, c.reltuples from pg_class c join pg_namespace n "
                    "on n.oid = c.relnamespace where n.nspname = :schema and c.relkind = 'r'"
                ),
                {"schema": FACT_SCHEMA},
            )
        }
        for table, rows in sorted(grown.items()):
            if table not in counted or rows < GROWTH_ROWS:
                continue
            if rows >= GROWTH_SHARE * max(counted[table], 0.0) + GROWTH_ROWS:
                name = f"{quote(FACT_SCHEMA)}.{quote(table)}"
                conn.execute(sa.text(f"ANALYZE (SKIP_LOCKED) {name}"))
                done.append(table)
        conn.commit()
    return done
