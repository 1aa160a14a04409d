"""The deployment files: docker-compose.yml against the Compose specification's JSON schema,
the services' wiring, the image, and deploy/dagster.yaml as a real Dagster instance on Postgres.

The Compose specification's schema comes from the check-jsonschema package (a dev dependency),
which ships it from github.com/compose-spec/compose-spec (Apache License 2.0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import check_jsonschema  # type: ignore[import-untyped]  # the Compose schema's carrier
import dagster as dg
import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev lock
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import ensure_workspace_config
from sqlalchemy.engine import make_url

from wx_pipeline.cli.instance import API_POOL_LIMIT, write_dagster_yaml
from wx_pipeline.core.settings import Settings, env_name
from wx_pipeline_tests.deploy.compose import (
    COMPOSE,
    DEPLOY,
    ENV_EXAMPLE,
    INTERPOLATION,
    ROOT,
    MissingVariableError,
    container_env,
    dockerfile_instructions,
    final_stage,
    image_env,
    interpolate,
)
from wx_pipeline_tests.deploy.compose import command as _command
from wx_pipeline_tests.deploy.compose import environment as _environment
from wx_pipeline_tests.deploy.compose import load_yaml as _yaml

SCHEMA = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"

SERVICES = {"postgres", "code", "webserver", "daemon", "receiver", "bi"}
#: Variables the deployment reads beyond the Settings fields.
EXTRA_VARIABLES = {"WX_DAGSTER_STORAGE_URL", "WX_ALERT_WEBHOOK", "WX_UI_URL", "POSTGRES_PASSWORD"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = _yaml(COMPOSE)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


# --- the Compose specification ------------------------------------------------------------------


def _validator() -> Any:
    """A validator of the draft the schema declares (its $schema)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_rejects_what_compose_would_reject(compose: dict[str, Any]) -> None:
    """The check is real: a misspelled key and a wrong type are caught."""
    validator = _validator()
    typo = {**compose, "services": {**compose["services"], "code": {"helthcheck": {}}}}
    assert any("helthcheck" in e.message for e in validator.iter_errors(typo))
    wrong = {**compose, "volumes": {"pgdata": {"driver": 5}}}
    assert list(validator.iter_errors(wrong))


# --- services -------------------------------------------------------------------------------------


def test_services(services: dict[str, dict[str, Any]], compose: dict[str, Any]) -> None:
    assert set(services) == SERVICES
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    data = [v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data")]
    assert data, "Postgres data must be on a volume"
    assert data[0].split(":")[0] in compose["volumes"], "a named volume, declared"
    for name in ("code", "webserver", "daemon", "receiver"):
        assert services[name].get("build") == ".", f"{name} runs the project's image"
        assert services[name].get("image") == services["code"]["image"]


def test_the_receiver_serves_the_platforms_pushes_from_the_same_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    receiver = services["receiver"]
    command = _command(receiver)
    assert command[:2] == ["wx-pipeline", "component-receiver"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert receiver["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"{port}/healthz" in " ".join(receiver["healthcheck"]["test"])
    # Only for agencies on the platform: without its settings the command would stop at once.
    assert receiver["profiles"] == ["platform"]
    assert receiver["env_file"] == services["code"]["env_file"]
    dotenv = {"POSTGRES_PASSWORD": "pw", "WX_COMPONENT_APP_ID": "wxcomponent0000001"}
    env = container_env(services, "receiver", dotenv)
    assert env["WX_WAREHOUSE_URL"] == container_env(services, "code", dotenv)["WX_WAREHOUSE_URL"]
    assert env["WX_COMPONENT_APP_ID"] == "wxcomponent0000001"
    assert receiver["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name}: no healthcheck"
        assert test[0] in {"CMD", "CMD-SHELL"}, name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "grpc-health-check" in services["code"]["healthcheck"]["test"]


def test_code_location_is_a_grpc_code_server_the_ui_and_daemon_load(
    services: dict[str, dict[str, Any]],
) -> None:
    command = _command(services["code"])
    assert command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-m") + 1] == "wx_pipeline.definitions"
    port = int(command[command.index("-p") + 1])
    assert command[command.index("-h") + 1] == "0.0.0.0"

    workspace = _yaml(DEPLOY / "workspace.yaml")
    ensure_workspace_config(workspace, str(DEPLOY / "workspace.yaml"))
    (server,) = [entry["grpc_server"] for entry in workspace["load_from"]]
    assert (server["host"], server["port"]) == ("code", port)
    assert server["location_name"] == command[command.index("--location-name") + 1]
    # The same location name as `make dev`: schedules and run history carry over.
    (local,) = _yaml(ROOT / "workspace.yaml")["load_from"]
    assert local["python_module"]["location_name"] == server["location_name"]

    assert _command(services["webserver"])[0] == "dagster-webserver"
    assert _command(services["daemon"])[:2] == ["dagster-daemon", "run"]
    for name in ("webserver", "daemon"):
        command = _command(services[name])
        assert command[command.index("-w") + 1] == "/opt/dagster/workspace.yaml"
        depends = services[name]["depends_on"]
        assert depends["code"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
    assert "-h" in _command(services["webserver"])


def test_the_ui_and_the_database_are_published_on_loopback_only(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to the network"
    assert not services["code"].get("ports"), "the gRPC server is for the other services only"


def test_secrets_come_only_from_the_environment(services: dict[str, dict[str, Any]]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    # Every use of the password is required, with a message saying where to set it.
    uses = [m for m in INTERPOLATION.finditer(text) if m.group(1) == "POSTGRES_PASSWORD"]
    assert uses
    assert all(m.group(2) == ":?" and m.group(3).strip() for m in uses)
    for name, service in services.items():
        for key, value in _environment(service).items():
            if re.search(r"PASSWORD|SECRET|WEBHOOK|TOKEN", key):
                assert INTERPOLATION.fullmatch(value), f"{name}: {key} is not from the environment"
            # A URL's password is an interpolation too, never a literal in the file.
            passwords = re.findall(r"://[^:/@]+:([^@]*)@", INTERPOLATION.sub("$VAR", value))
            assert all(p == "$VAR" for p in passwords), f"{name}: {key} has a literal password"


def test_only_the_code_location_gets_the_pipelines_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("webserver", "daemon"):
        assert set(_environment(services[name])) == {"WX_DAGSTER_STORAGE_URL"}, name
        assert "env_file" not in services[name], name
    code_env = _environment(services["code"])
    assert {"WX_WAREHOUSE_URL", "WX_DAGSTER_STORAGE_URL", "WX_HOME"} <= set(code_env)
    # dagster-postgres takes psycopg2 URLs; the warehouse takes any postgresql URL.
    assert code_env["WX_DAGSTER_STORAGE_URL"].startswith("postgresql+psycopg2://")
    assert code_env["WX_WAREHOUSE_URL"].startswith("postgresql://")
    (env_file,) = services["code"]["env_file"]
    assert env_file == {"path": ".env", "required": False}


def test_environments_are_read_as_compose_reads_them(
    services: dict[str, dict[str, Any]],
) -> None:
    """The reading the rehearsal (test_rehearsal.py) starts the processes with."""
    assert interpolate("a${X:-d}b", {}) == "adb"
    assert interpolate("${X:-d}", {"X": ""}) == "d"
    assert interpolate("${X-d}", {"X": ""}) == ""
    assert interpolate("$${X}", {"X": "1"}) == "${X}"
    with pytest.raises(MissingVariableError, match="POSTGRES_PASSWORD"):
        container_env(services, "code", {})
    dotenv = {"POSTGRES_PASSWORD": "pw", "WX_HOME": "/elsewhere", "WX_LOG_LEVEL": "INFO"}
    code = container_env(services, "code", dotenv)
    assert code["WX_HOME"] == "/var/lib/wx", "environment: wins over env_file"
    assert code["WX_LOG_LEVEL"] == "INFO", "the env_file reaches the code location"
    assert code["DAGSTER_HOME"] == "/opt/dagster", "the image's ENV"
    assert "wx:pw@postgres:5432/wx" in code["WX_WAREHOUSE_URL"]
    daemon = container_env(services, "daemon", dotenv)
    assert "WX_LOG_LEVEL" not in daemon
    assert "WX_WAREHOUSE_URL" not in daemon


def test_no_service_runs_as_root(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert str(service.get("user", "")).split(":")[0] not in {"0", "root"}, name


# --- .env.example -------------------------------------------------------------------------------


def _documented() -> dict[str, str]:
    """Variable -> the comment line right above it in .env.example (commented-out ones too)."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        match = re.fullmatch(r"(?:# )?([A-Z][A-Z0-9_]*)=.*", line)
        if match:
            above = lines[i - 1] if i else ""
            why = f"{match.group(1)}: needs one comment line above it"
            assert above.startswith("# "), why
            assert not re.fullmatch(r"# [A-Z][A-Z0-9_]*=.*", above), why
            found[match.group(1)] = above
    return found


def test_env_example_documents_every_variable() -> None:
    documented = _documented()
    settings = {env_name(name) for name in Settings.model_fields}
    assert settings | EXTRA_VARIABLES <= set(documented)
    # Nothing compose reads is missing from it either.
    used = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE.read_text(encoding="utf-8"))}
    assert used <= set(documented)
    assert re.search(r"^POSTGRES_PASSWORD=$", ENV_EXAMPLE.read_text(), re.M), "no value shipped"


# --- the image ------------------------------------------------------------------------------------


def test_image_is_non_root_and_built_from_the_lock_with_uv() -> None:
    instructions = dockerfile_instructions()
    final = final_stage()
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user.isdigit(), "a numeric uid, which Kubernetes' runAsNonRoot can verify"
    assert int(user) != 0
    runs = " && ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "uv pip install --no-cache -r requirements.lock" in runs
    assert "wx-pipeline dbt parse" in runs
    assert not any(k == "ADD" for k, _ in instructions), "ADD can fetch URLs; COPY cannot"
    body = " ".join(args for _, args in instructions)
    assert not re.search(r"https?://|\bcurl\b|\bwget\b", body), "no download addresses"
    copies = [args for keyword, args in final if keyword == "COPY"]
    assert "deploy/dagster.yaml deploy/workspace.yaml /opt/dagster/" in copies
    assert re.search(r"DAGSTER_HOME=/opt/dagster\b", body)


def test_the_final_stage_holds_no_build_tool_nor_build_setting() -> None:
    """uv, its caches and the build's settings (a mirror, TLS) stay in the build stage: the
    final stage installs nothing and takes the virtualenv and the project from it."""
    stages = [args for keyword, args in dockerfile_instructions() if keyword == "FROM"]
    assert len(stages) == 2
    assert stages[0].endswith(" AS build")
    final = final_stage()
    assert final[0] == ("FROM", stages[1])
    assert stages[1].split()[0] == stages[0].split()[0], "the same base: the venv's python"
    runs = " ".join(args for keyword, args in final if keyword == "RUN")
    assert not re.search(r"\b(pip|uv|apt-get)\b", runs), runs
    assert not [args for keyword, args in final if keyword == "ARG"]
    copies = [args for keyword, args in final if keyword == "COPY"]
    assert "--from=build /opt/venv /opt/venv" in copies
    assert image_env({"PATH": "/usr/bin"})["PATH"] == "/opt/venv/bin:/usr/bin"


def _pins(lock: Path) -> dict[str, str]:
    """Package -> version pinned by a `uv pip compile` lock."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, version = line.partition("==")
            assert version, f"{lock.name}: not an exact pin: {line}"
            pins[name] = version.split(";")[0].strip()
    return pins


def test_the_k8s_lock_is_the_image_lock_plus_dagster_k8s() -> None:
    """The Helm chart's run launcher needs dagster-k8s of dagster-postgres' release; nothing
    else of the image may move with it (deploy/README.md)."""
    image, k8s = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-k8s.lock")
    assert "dagster-k8s" not in image
    assert k8s["dagster-k8s"] == image["dagster-postgres"]
    assert {name: k8s.get(name) for name in image} == image
    # How the image is built from it: `docker build --build-arg REQUIREMENTS=...`.
    assert ("ARG", "REQUIREMENTS=requirements.lock") in dockerfile_instructions()
    text = (ROOT / "requirements-k8s.lock").read_text(encoding="utf-8")
    assert "://" not in text, "no download addresses"


# --- deploy/dagster.yaml --------------------------------------------------------------------------


def test_dagster_yaml_is_a_valid_instance_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WX_DAGSTER_STORAGE_URL", "postgresql+psycopg2://wx:pw@postgres:5432/wx")
    (tmp_path / "dagster.yaml").write_bytes((DEPLOY / "dagster.yaml").read_bytes())
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "WX_DAGSTER_STORAGE_URL"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["runs"]["max_concurrent_runs"] > 0
    assert config["concurrency"]["pools"]["default_limit"] == API_POOL_LIMIT
    assert config["run_retries"] == {
        "enabled": True,
        "max_retries": 2,
        "retry_on_asset_or_op_failure": False,
    }
    assert config["run_monitoring"]["enabled"] is True
    assert set(config["retention"]) >= {"schedule", "sensor"}
    assert config["compute_logs"]["class"] == "LocalComputeLogManager"
    assert config["compute_logs"]["config"]["base_dir"] == "/var/lib/wx/compute-logs"
    assert config["telemetry"] == {"enabled": False}


def test_dagster_yaml_makes_an_instance_on_postgres(
    tmp_path: Path, new_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file as a running deployment loads it: storage migrated, queue, pool, retries."""
    url = make_url(new_database("dagster_yaml")).set(drivername="postgresql+psycopg2")
    monkeypatch.setenv("WX_DAGSTER_STORAGE_URL", url.render_as_string(hide_password=False))
    config = _yaml(DEPLOY / "dagster.yaml")
    # Only the directories move, from the image's volume to this test's.
    config["compute_logs"]["config"]["base_dir"] = str(tmp_path / "compute-logs")
    config["local_artifact_storage"]["config"]["base_dir"] = str(tmp_path / "storage")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert instance.run_monitoring_enabled
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == API_POOL_LIMIT
        assert instance.get_runs_count() == 0  # the storage answers


def test_the_local_instance_shares_the_deployments_settings(tmp_path: Path) -> None:
    """`wx-pipeline run`/`dev` write their dagster.yaml (cli/instance.py); the deployment bakes
    deploy/dagster.yaml. What both have must say the same: storage, the API pool, the logs
    Dagster captures, the tick retention at the default horizon, telemetry off."""
    local = _yaml(write_dagster_yaml(tmp_path, "WARNING") / "dagster.yaml")
    deployed = _yaml(DEPLOY / "dagster.yaml")
    for key in ("storage", "python_logs", "retention", "telemetry"):
        assert local[key] == deployed[key], key
    assert local["concurrency"]["pools"] == deployed["concurrency"]["pools"]
    # What only a deployment has: the queue, run retries and monitoring, its volumes.
    assert set(deployed) - set(local) == {
        *("run_coordinator", "run_retries", "run_monitoring"),
        *("compute_logs", "local_artifact_storage", "nux"),
    }


# --- the Helm example -----------------------------------------------------------------------------


def test_helm_values_match_the_compose_instance() -> None:
    values = _yaml(DEPLOY / "helm" / "values.yaml")
    instance = _yaml(DEPLOY / "dagster.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["codeServerArgs"]
    assert args[args.index("-m") + 1] == "wx_pipeline.definitions"
    assert deployment["podSecurityContext"]["runAsUser"] != 0
    pools = values["concurrency"]["pools"]
    assert pools["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    retries = values["dagsterDaemon"]["runRetries"]
    assert retries["maxRetries"] == instance["run_retries"]["max_retries"]
    assert retries["retryOnAssetOrOpFailure"] is False
    runs = values["concurrency"]["runs"]["maxConcurrentRuns"]
    assert runs == instance["concurrency"]["runs"]["max_concurrent_runs"]
    ticks, helm = instance["retention"], values["retention"]
    assert helm["schedule"]["purgeAfterDays"] == ticks["schedule"]["purge_after_days"]
    sensor = {k: v for k, v in helm["sensor"]["purgeAfterDays"].items() if v != -1}
    assert sensor == ticks["sensor"]["purge_after_days"]
    # As long as the runs' detail the retention job keeps by default (WX_RETENTION_DAYS).
    assert ticks["schedule"]["purge_after_days"] == Settings.model_fields["retention_days"].default
