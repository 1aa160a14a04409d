"""The benchmarks' smoke versions, so that they cannot rot: the suite's agency 3 accounts x 30
days through the real processes (pipeline, simulator, PostgreSQL), every call needed and made;
the COPY encoding benchmark on two weeks; the soak on four days."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _printed(script: str, *args: str, timeout: float) -> list[str]:
    """The lines a benchmark script prints, which must exit 0."""
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_bench_smoke_prints_its_table() -> None:
    header, _rule, row, *notes = _printed("suite.py", "--smoke", timeout=600)
    assert header.split()[:5] == ["scenario", "wall", "s", "calls", "minimum"]
    cells = row.split()
    assert cells[0] == "smoke"
    calls, minimum, rows = (int(c.replace(",", "")) for c in cells[2:5])
    assert calls == minimum > 900  # 3 accounts x 30 days x 21 endpoints
    assert rows > 50_000
    assert any(line.startswith("measured ") for line in notes)
    # Where two cores went: CPU seconds of the pipeline, the simulator and PostgreSQL.
    cpu = [float(x) for x in cells[9].split("/")]
    assert len(cpu) == 3
    assert cpu[0] > 0
    # Where the wall time went, from Dagster's step stats: ingestion steps / the dbt build.
    ingest, dbt = (float(x) for x in cells[10].split("/"))
    assert ingest > 0
    assert dbt > 0
    assert ingest + dbt < float(cells[1])


def test_copy_encoding_bench_prints_every_text_table() -> None:
    _title, header, *rows = _printed(
        "copy_encoding.py", "--days", "14", "--repeat", "1", timeout=300
    )
    assert header.split()[:2] == ["table", "rows"]
    tables = {line.split()[0]: line.split() for line in rows}
    assert {"article_total_detail_read_source", "article_read", "all"} <= tables.keys()
    total = tables.pop("all")
    counts = [int(r[1].replace(",", "")) for r in tables.values()]
    assert int(total[1].replace(",", "")) == sum(counts) > 0
    assert float(total[2]) > 0  # binary seconds
    assert float(total[4]) > 0  # CSV seconds


def test_soak_smoke_prints_its_table() -> None:
    lines = _printed("soak.py", "--days", "4", "--block", "2", "--span", "2", timeout=900)
    header, _rule, first, last, note, *rest = lines
    assert header.split()[:3] == ["days", "nightly", "s"]
    assert [first.split()[0], last.split()[0]] == ["1-2", "3-4"]
    for row in (first, last):
        cells = row.split()
        nightly, cpu = float(cells[1]), float(cells[2])
        ingest, dbt = float(cells[4]), float(cells[5])
        assert 0 < ingest + dbt < nightly
        # CPU by whom: the soak's process, dbt (its children) and PostgreSQL.
        python, children, postgres = (float(c) for c in cells[3].split("/"))
        assert min(python, children, postgres) > 0
        assert cpu > 0
        runs, events = (int(c.replace(",", "")) for c in (cells[7], cells[9]))
        assert runs >= 6  # nightly, marts, late data, marts, history fill, retention a day
        assert events > 0
    assert "4 days" in note
    assert any(line.startswith("nightly run, last 2 / first 2:") for line in rest)
    assert any(line.startswith("nightly run CPU, last 2 / first 2:") for line in rest)
    assert any(line.startswith("nightly run CPU, dbt, last 2 / first 2:") for line in rest)
    growth = [line for line in rest if line.startswith("  Dagster events")]
    assert growth
    assert float(growth[0].split()[2].replace(",", "")) > 0  # kB per account-day
    marts = [line for line in rest if line.startswith("  fct_")]
    assert any(
        line.startswith("  fct_reads_hourly (") and " ms): user_read_hour: " in line
        for line in marts
    )
