"""Superset in the compose stack (profile `bi`) and its environment of its own: the service runs
the same `wx-pipeline bi serve` as `make bi`, against the stack's warehouse, from an image with
Superset's virtualenv beside the pipeline's packages, pinned by requirements-bi.lock."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

import pytest

from wx_pipeline.bi import superset
from wx_pipeline_tests.deploy.compose import (
    COMPOSE,
    ROOT,
    command,
    container_env,
    dockerfile_instructions,
    environment,
    interpolate,
    load_yaml,
)

BI_DOCKERFILE = ROOT / "deploy" / "superset" / "Dockerfile"
BI_LOCK = ROOT / "requirements-bi.lock"


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load_yaml(COMPOSE)["services"]
    return found


def test_the_bi_service_serves_superset_on_the_stacks_warehouse(
    services: dict[str, dict[str, Any]],
) -> None:
    bi = services["bi"]
    assert bi["profiles"] == ["bi"]  # not part of a plain `docker compose up`
    assert bi["build"] == {"context": ".", "dockerfile": "deploy/superset/Dockerfile"}
    argv = command(bi)
    assert argv[:3] == ["wx-pipeline", "bi", "serve"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    port = argv[argv.index("--port") + 1]
    assert bi["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"{port}/health" in " ".join(bi["healthcheck"]["test"])
    dotenv = {"POSTGRES_PASSWORD": "pw", "WX_APP_SECRET": "s3cret", "WX_BI_ADMIN_PASSWORD": "a"}
    env = {k: interpolate(v, dotenv) for k, v in environment(bi).items()}
    assert env["WX_WAREHOUSE_URL"] == container_env(services, "code", dotenv)["WX_WAREHOUSE_URL"]
    assert env["WX_BI_ADMIN_PASSWORD"] == "a"
    # The accounts' secrets are the pipeline's: .env is not handed to this container whole.
    assert "env_file" not in bi
    assert "WX_APP_SECRET" not in env
    volume, _, mount = bi["volumes"][0].partition(":")
    assert mount == env["WX_HOME"]
    assert volume in load_yaml(COMPOSE)["volumes"]
    assert volume not in {v.split(":")[0] for v in services["code"]["volumes"]}
    assert bi["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_image_holds_superset_apart_from_the_pipeline() -> None:
    instructions = dockerfile_instructions(BI_DOCKERFILE)
    assert instructions[0] == ("FROM", "python:3.11-slim")  # the pipeline image's base
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] == "10001"
    runs = " && ".join(args for keyword, args in instructions if keyword == "RUN")
    venv = "/app/.venv-bi"
    assert f"uv pip install --python {venv}/bin/python --no-cache -r requirements-bi.lock" in runs
    assert "uv pip install --system --no-cache -r requirements.lock" in runs
    # Where `wx-pipeline bi serve` looks for Superset, the package being installed in /app.
    relative = superset.BI_VENV.relative_to(superset.BI_VENV.parents[0])
    assert PurePosixPath("/app") / relative.as_posix() == PurePosixPath(venv)
    assert ("WORKDIR", "/app") in instructions
    assert not any(keyword == "ADD" for keyword, _ in instructions)
    body = " ".join(args for _, args in instructions)
    assert not re.search(r"https?://|\bcurl\b|\bwget\b", body)


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[name] = version
    return pins


def test_the_bi_lock_pins_superset_and_what_it_needs() -> None:
    text = BI_LOCK.read_text(encoding="utf-8")
    assert "://" not in text  # no registry's address
    pins = _pins(text)
    assert pins["apache-superset"] == "6.1.0"
    assert pins["flask-caching"] == "2.3.1"  # 2.5 breaks `superset db upgrade`
    assert {"cachetools", "rich", "psycopg2-binary", "gunicorn"} <= pins.keys()
    # Superset's own pins hold for every package 6.1.0 installs (its base.txt also lists a few
    # its development needs), but for the three 6.1.0 itself moved past (not in the file).
    base = _pins(
        "\n".join(
            line
            for line in (ROOT / "deploy/superset/superset-base.txt").read_text().splitlines()
            if not line.startswith("#")
        )
    )
    shared = base.keys() & pins.keys()
    assert len(shared) > 120
    assert {name for name in shared if base[name] != pins[name]} == set()
    assert {"flask-cors", "redis", "sqlglot"} <= pins.keys() - base.keys()
