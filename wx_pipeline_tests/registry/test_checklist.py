"""The README's "Adding an endpoint" list is the truth: every endpoint of the registry has each
thing the list names, and the list names each thing an endpoint needs (the places this test
looks at)."""

from __future__ import annotations

import re
from pathlib import Path

from wx_pipeline.marts.generate import stale_files
from wx_pipeline.registry import ENDPOINTS
from wx_pipeline.simulator.config import demo_accounts
from wx_pipeline.simulator.data import DataSet
from wx_pipeline_tests.contract.test_corpus import CORPUS, EXPECTED

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "wx_pipeline/warehouse/migrations/versions"
STAGING = ROOT / "dbt/models/staging/wechat"
SNAPSHOT = ROOT / "wx_pipeline_tests/defs/definitions_snapshot.json"


def _checklist() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Adding an endpoint", 1)[1]
    return section.split("\n## ", 1)[0]


def test_the_list_names_every_place_a_new_endpoint_needs() -> None:
    listed = " ".join(_checklist().split())
    for place in (
        "wx_pipeline/registry/endpoints.py",
        "wx_pipeline/simulator/data/dataset.py",
        "_builders",
        "migrate.new_revision",
        "wx_pipeline/warehouse/migrations/versions/",
        "python -m wx_pipeline.marts.generate --write",
        "dbt/models/staging/wechat/stg_wechat__<table>.sql",
        "wx_pipeline_tests/contract/corpus/<endpoint>/",
        "wx_pipeline_tests/contract/test_corpus.py",
        "UPDATE_SNAPSHOTS=1",
    ):
        assert place in listed, place
    steps = re.findall(r"^\d+\. \*\*", _checklist(), flags=re.MULTILINE)
    assert len(steps) == 7


def test_every_endpoint_has_a_simulator_builder() -> None:
    builders = DataSet(0, demo_accounts(0))._builders
    assert set(builders) == {e.name for e in ENDPOINTS}


def test_every_table_has_a_migration_and_a_staging_model() -> None:
    migrations = "\n".join(p.read_text(encoding="utf-8") for p in MIGRATIONS.glob("*.py"))
    for endpoint in ENDPOINTS:
        for table in endpoint.tables:
            assert re.search(rf"[\"']{table.name}[\"']", migrations), table.name
            assert (STAGING / f"stg_wechat__{table.name}.sql").exists(), table.name


def test_the_generated_dbt_files_are_current() -> None:
    assert stale_files() == [], "run: python -m wx_pipeline.marts.generate --write"


def test_every_endpoint_has_real_answers_with_what_they_must_give() -> None:
    for endpoint in ENDPOINTS:
        files = sorted((CORPUS / endpoint.name).glob("*.json"))
        assert files, endpoint.name
        for path in files:
            assert str(path.relative_to(CORPUS)) in EXPECTED, path


def test_every_endpoints_asset_is_in_the_definitions_snapshot() -> None:
    snapshot = SNAPSHOT.read_text(encoding="utf-8")
    for endpoint in ENDPOINTS:
        assert f'"wechat/{endpoint.asset_group}"' in snapshot, endpoint.name
