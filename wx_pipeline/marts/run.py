"""Running dbt on the project in `dbt/` against the warehouse.

* `dbt_env(url)` turns a warehouse URL (also the embedded unix-socket form
  `postgresql://postgres:@/wx?host=/dir`) into the `WX_DBT_*` variables `dbt/profiles.yml` reads,
  so the CLI and Dagster reach the same warehouse as the loaders.
* `dbt_executable()` is the venv's own dbt: the pipeline may run as `.venv/bin/wx-pipeline`
  without the venv on PATH.
* The run's window and accounts reach the models as `WX_DBT_*` variables (`window_env`), read
  only when executing, so dbt's partial parsing survives a new window; the parse state is kept
  per warehouse under `WX_HOME`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import make_url

from wx_pipeline.core import clock
from wx_pipeline.core.errors import WxUserError

#: The dbt project (dbt_project.yml, profiles.yml); also its profiles dir.
DBT_PROJECT_DIR: Final = Path(__file__).resolve().parents[2] / "dbt"
#: Where `dbt parse` leaves the manifest Dagster's `@dbt_assets` reads.
MANIFEST_PATH: Final = DBT_PROJECT_DIR / "target" / "manifest.json"
#: dbt source name of the fact tables; each registry table is a source table of that name.
SOURCE_NAME: Final = "wechat"
#: Schema of the fact tables (the warehouse's `FACT_SCHEMA`).
SOURCE_SCHEMA: Final = "wechat"
#: dbt vars carrying the partition window (ISO dates, both inclusive), for `wx-pipeline dbt`.
START_VAR: Final = "start_date"
END_VAR: Final = "end_date"
#: The same window as environment variables, as the pipeline passes it: a change of --vars
#: makes dbt parse the whole project again (~2 s), a changed env var only the files using it.
START_ENV: Final = "WX_DBT_START_DATE"
END_ENV: Final = "WX_DBT_END_DATE"
#: The accounts a build refreshes (app ids, comma-separated; empty: all).
ACCOUNTS_ENV: Final = "WX_DBT_ACCOUNTS"
#: The pipeline's build of the marts: models, seeds and data tests. dbt's unit tests check the
#: SQL, not the day's data: the test suite runs them (`dbt test --select test_type:unit`).
BUILD_ARGS: Final = ("build", "--exclude-resource-type", "unit_test")
#: Data tests of the SQL's shape and of the code seeds rather than the day's data (the staging
#: views' grain: a view over a keyed table joined to unique codes cannot fan out unless its SQL
#: changes; the seeds' keys, which change with the code only), run by the test suite, left out
#: of the pipeline's builds (~1.5 s of a nightly build's node time).
SHAPE_TESTS: Final = "tag:shape"
#: The warehouse lock every dbt invocation that writes holds (one build at a time).
DBT_LOCK: Final = "wx:dbt"
#: dbt's partial-parsing state, kept between runs (per warehouse) under WX_HOME.
PARTIAL_PARSE_FILE: Final = "partial_parse.msgpack"

# dbt commands that never open a connection: they must work without a warehouse.
_OFFLINE_COMMANDS: Final = frozenset({"parse", "ls", "list", "clean", "deps", "init", "debug"})


class DbtError(WxUserError):
    """dbt is missing or could not be run."""


#: For the pipeline's own dbt invocations (the assets): no dbt.log. dbt writes every event
#: there at debug level, ~1 s of a nightly build, into a directory the asset then deletes;
#: a failure reaches Dagster and the CLI from dbt's stdout events, not from that file.
NO_FILE_LOG: Final = {"DBT_LOG_LEVEL_FILE": "none"}


def dbt_env(url: str | None) -> dict[str, str]:
    """The `WX_DBT_*` variables profiles.yml reads, for the warehouse at `url`.

    None gives the parse-only defaults (no database is contacted by `dbt parse`). A unix-socket
    URL carries its socket directory as `?host=`; libpq takes a directory as the host.
    """
    env = {
        "WX_DBT_HOST": "localhost",
        "WX_DBT_PORT": "5432",
        "WX_DBT_USER": "postgres",
        # Not a DBT_ENV_SECRET_ variable: dbt would scrub its value out of every log line, and a
        # short password ("x") then mangles the JSON events (e*****tra) dagster-dbt reads.
        "WX_DBT_PASSWORD": "",
        "WX_DBT_DBNAME": "wx",
        "WX_DBT_SSLMODE": "prefer",
        # Models that need "the newest day" (dim_date) follow the pipeline's rule and clock.
        "WX_DBT_NEWEST_FINAL_DAY": clock.newest_final().isoformat(),
    }
    if url is None:
        return env
    parsed = make_url(url)
    query = {k: v if isinstance(v, str) else v[0] for k, v in parsed.query.items()}
    host = parsed.host or query.get("host")
    port = parsed.port or query.get("port")
    if host:
        env["WX_DBT_HOST"] = str(host)
    if port:
        env["WX_DBT_PORT"] = str(port)
    if parsed.username:
        env["WX_DBT_USER"] = parsed.username
    if parsed.password:
        env["WX_DBT_PASSWORD"] = str(parsed.password)
    if parsed.database:
        env["WX_DBT_DBNAME"] = parsed.database
    if "sslmode" in query:
        env["WX_DBT_SSLMODE"] = query["sslmode"]
    return env


def dbt_executable() -> Path:
    """The dbt of this interpreter's environment (not whatever `dbt` is first on PATH)."""
    path = Path(sys.executable).parent / "dbt"
    if not path.exists():
        raise DbtError(f"dbt is not installed next to {sys.executable}; run `make install`")
    return path


def window_vars(first: date, last: date) -> dict[str, str]:
    """The dbt vars of a partition window: the first and last Beijing day, both inclusive."""
    if last < first:
        raise ValueError(f"window ends before it starts: {first} .. {last}")
    return {START_VAR: first.isoformat(), END_VAR: last.isoformat()}


def window_args(first: date, last: date) -> list[str]:
    """`--vars` arguments for a dbt command over [first, last]."""
    return ["--vars", json.dumps(window_vars(first, last))]


def window_env(window: tuple[date, date] | None, accounts: Sequence[str] = ()) -> dict[str, str]:
    """The window (and accounts) as the environment variables the models read; empty
    strings: no window, every account."""
    env = {START_ENV: "", END_ENV: "", ACCOUNTS_ENV: ",".join(accounts)}
    if window is not None:
        vars_ = window_vars(*window)
        env.update({START_ENV: vars_[START_VAR], END_ENV: vars_[END_VAR]})
    return env


def docs_dir(home: Path) -> Path:
    """Where the pipeline's `dbt docs generate` writes the docs site (``wx-pipeline docs``)."""
    return home / "dbt-docs"


#: The project files dbt docs are generated from (models and their docs, seeds, macros, tests).
_PROJECT_PARTS: Final = ("dbt_project.yml", "models", "seeds", "macros")


def project_version(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """A digest of the dbt project's files: the docs site (models, columns, lineage) changes
    only when it does, as the fact tables' columns are generated into the source docs."""
    digest = hashlib.sha256()
    for part in _PROJECT_PARTS:
        root = project_dir / part
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if path.exists():
                digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def parse_cache_dir(home: Path, url: str) -> Path:
    """Where dbt's partial-parsing state for the warehouse at ``url`` is kept: dbt parses
    everything again when the profile changes, so one state per warehouse."""
    # Where, not who with which password: nothing secret goes into a directory name.
    profile = {
        k: v
        for k, v in dbt_env(url).items()
        if k not in ("WX_DBT_NEWEST_FINAL_DAY", "WX_DBT_PASSWORD")
    }
    tag = hashlib.sha256(json.dumps(profile, sort_keys=True).encode()).hexdigest()[:12]
    return home / "dbt-parse" / tag


def _restore_parse_state(cache: Path, target: Path) -> None:
    """Start a fresh target directory from the kept partial-parsing state, if any."""
    saved = cache / PARTIAL_PARSE_FILE
    if saved.exists():
        shutil.copyfile(saved, target / PARTIAL_PARSE_FILE)


def _keep_parse_state(target: Path, cache: Path) -> None:
    """Keep a finished invocation's partial-parsing state for the next one (atomically, as
    runs may finish at once)."""
    state = target / PARTIAL_PARSE_FILE
    if not state.exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f"{PARTIAL_PARSE_FILE}.{os.getpid()}.tmp"
    shutil.copyfile(state, tmp)
    os.replace(tmp, cache / PARTIAL_PARSE_FILE)


@contextmanager
def parse_state_kept(home: Path, url: str, target: Path) -> Iterator[None]:
    """Around one dbt invocation into ``target``: start from the partial-parsing state kept for
    the warehouse at ``url`` under ``home``, and keep the invocation's when it succeeds."""
    cache = parse_cache_dir(home, url)
    _restore_parse_state(cache, target)
    yield
    _keep_parse_state(target, cache)


def needs_warehouse(args: Sequence[str]) -> bool:
    """Whether the dbt command in `args` opens a connection (parse, ls, ... do not)."""
    command = next((a for a in args if not a.startswith("-")), None)
    return command is not None and command not in _OFFLINE_COMMANDS


def dbt_process_env(url: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The full environment of a dbt child process for the warehouse at `url`."""
    env = {**os.environ, **dbt_env(url)}
    env["DBT_PROFILES_DIR"] = str(DBT_PROJECT_DIR)
    env["DBT_PROJECT_DIR"] = str(DBT_PROJECT_DIR)
    env.update(extra or {})
    return env


def run_dbt(
    args: Sequence[str],
    url: str | None = None,
    *,
    capture: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `dbt ARGS` on the project against the warehouse at `url` (None: no database).

    `extra_env` adds variables, e.g. `DBT_TARGET_PATH` to keep a test's artifacts apart. The
    result is returned whatever dbt's exit status; output goes to the terminal unless captured.
    A command that uses the warehouse waits for any other dbt invocation on it (``DBT_LOCK``).
    """
    from wx_pipeline.warehouse.db import exclusive, make_engine

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(dbt_executable()), *args],
            cwd=DBT_PROJECT_DIR,
            env=dbt_process_env(url, extra_env),
            capture_output=capture,
            text=True,
            check=False,
        )

    if url is None or not needs_warehouse(args):
        return run()
    engine = make_engine(url)
    try:
        with exclusive(engine, DBT_LOCK):
            return run()
    finally:
        engine.dispose()


def dbt_said(output: str) -> str:
    """What a failed dbt command said, in one line: its error and failure lines (a failing
    test, a database or compilation error), else its last line."""
    # dbt's text output starts each line with a time stamp (12:00:00).
    lines = [
        " ".join(re.sub(r"^\d\d:\d\d:\d\d\s", "", line).split())
        for line in output.splitlines()
        if line.strip()
    ]
    said = [
        line
        for line in lines
        if line.startswith(("Failure in", "Database Error", "Compilation Error", "Runtime Error"))
        or line.startswith("Got ")
    ]
    return " | ".join(dict.fromkeys(said)) or (lines[-1] if lines else "no output")


def build_marts(
    url: str, home: Path, window: tuple[date, date] | None, accounts: Sequence[str] = ()
) -> None:
    """`dbt build` over `window` (and `accounts`) outside Dagster, as the analytics run builds
    the marts after a load: the incremental marts replace the window's rows, the tests check
    them. A failure raises `DbtError` with what dbt said."""
    with (
        tempfile.TemporaryDirectory(prefix="wx-dbt-target-") as tmp,
        parse_state_kept(home, url, Path(tmp)),
    ):
        result = run_dbt(
            [*BUILD_ARGS, "--exclude", SHAPE_TESTS, "--target-path", tmp],
            url,
            capture=True,
            extra_env={**window_env(window, accounts), **NO_FILE_LOG},
        )
        if result.returncode != 0:
            raise DbtError(f"dbt build of the marts failed: {dbt_said(result.stdout)}")


@cache
def read_manifest() -> dict[str, Any]:
    """The project's manifest as `make install` prepared it (parsed first when missing)."""
    if not MANIFEST_PATH.exists():
        prepare_manifest()
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return manifest


def prepare_manifest(target_path: Path | None = None) -> Path:
    """Run `dbt parse` (no database needed) and return the manifest it wrote."""
    extra = {"DBT_TARGET_PATH": str(target_path)} if target_path else None
    result = run_dbt(["parse", "--quiet"], None, capture=True, extra_env=extra)
    manifest = (target_path or MANIFEST_PATH.parent) / "manifest.json"
    if result.returncode != 0 or not manifest.exists():
        detail = (result.stdout + result.stderr).strip().splitlines()
        raise DbtError(f"dbt parse failed: {detail[-1] if detail else 'no output'}")
    return manifest
