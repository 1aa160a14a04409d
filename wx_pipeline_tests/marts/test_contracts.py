"""The marts' enforced contracts: what BI reads has fixed names and types, and a change to one
fails the dbt build with the contract's message instead of breaking a dashboard later.

The failing build runs on a copy of the dbt project with one column's type changed, against a
migrated, empty warehouse (a contract is checked before a row is written).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from wx_pipeline.marts.run import DBT_PROJECT_DIR, prepare_manifest, run_dbt
from wx_pipeline.warehouse.migrate import migrate

MART = "fct_callback_latency_daily"
#: The column whose type the broken copy changes, and the change.
ORIGINAL = "    callback_count,\n"
CHANGED = "    callback_count::integer as callback_count,\n"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = prepare_manifest(tmp_path_factory.mktemp("dbt-target"))
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_every_mart_has_an_enforced_contract_with_every_type(manifest: dict[str, Any]) -> None:
    marts = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "analytics"
    ]
    assert len(marts) >= 10
    for node in marts:
        assert node["config"]["contract"]["enforced"], node["name"]
        untyped = [c["name"] for c in node["columns"].values() if not c.get("data_type")]
        assert untyped == [], node["name"]


def _build(project: Path, url: str, tmp: Path, select: str) -> tuple[int, str]:
    env = {
        "DBT_PROJECT_DIR": str(project),
        "DBT_TARGET_PATH": str(tmp / "target"),
        "DBT_LOG_PATH": str(tmp / "logs"),
    }
    # Models and seeds only: the tests of a mart also read other marts, not built here.
    args = ["build", "--select", select, "--resource-type", "model", "--resource-type", "seed"]
    result = run_dbt(args, url, capture=True, extra_env=env)
    return result.returncode, result.stdout


def test_a_changed_column_type_fails_the_build_with_the_contracts_message(
    database_url: str, tmp_path: Path
) -> None:
    migrate(database_url)
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))

    # The project as committed keeps its contracts (and builds what the mart reads).
    status, output = _build(project, database_url, tmp_path / "as-is", f"+{MART}")
    assert status == 0, output[-3000:]

    model = project / "models" / "marts" / f"{MART}.sql"
    sql = model.read_text(encoding="utf-8")
    assert sql.count(ORIGINAL) == 1
    model.write_text(sql.replace(ORIGINAL, CHANGED), encoding="utf-8")
    status, output = _build(project, database_url, tmp_path / "changed", MART)
    assert status != 0
    assert "This model has an enforced contract that failed." in output
    mismatch = [line for line in output.splitlines() if "data type mismatch" in line]
    assert len(mismatch) == 1, output[-3000:]
    assert "callback_count" in mismatch[0]
    assert "INTEGER" in mismatch[0]
