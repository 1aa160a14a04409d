"""The pieces of `make rehearse` (deploy/rehearse.py) that need no container engine: the order
the services start in, the .env it writes, the durations and ports it reads from compose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.rehearse import (
    OVERRIDE,
    Stack,
    _seconds,
    published_port,
    write_dotenv,
)
from wx_pipeline_tests.deploy.compose import COMPOSE, ENV_EXAMPLE, load_yaml


def _merged() -> dict[str, Any]:
    """docker-compose.yml with the rehearsal's override laid over it, as compose merges them
    for these keys (services added, a service's mappings merged)."""
    config: dict[str, Any] = load_yaml(COMPOSE)
    for name, extra in load_yaml(OVERRIDE)["services"].items():
        service = config["services"].setdefault(name, {})
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(service.get(key), dict):
                service[key] = {**service[key], **value}
            else:
                service[key] = value
    return config


def test_services_start_in_the_order_their_dependencies_are_healthy() -> None:
    stack = Stack(podman=None, config=_merged())  # type: ignore[arg-type]  # no engine needed
    assert stack.tiers() == [["postgres", "simulator"], ["code"], ["daemon", "webserver"]]
    assert stack.tiers(profiles=["platform"]) == [
        ["postgres", "simulator"],
        ["code", "receiver"],
        ["daemon", "webserver"],
    ]


def test_a_dependency_cycle_is_refused() -> None:
    config = {"services": {"a": {"depends_on": ["b"]}, "b": {"depends_on": {"a": {}}}}}
    with pytest.raises(Exception, match="cycle"):
        Stack(podman=None, config=config).tiers()  # type: ignore[arg-type]


def test_the_override_points_code_at_the_simulator_and_pins_one_clock() -> None:
    services = load_yaml(OVERRIDE)["services"]
    assert set(services) == {"simulator", "code"}, "the override changes nothing else"
    command = services["simulator"]["command"]
    port = command[command.index("--port") + 1]
    code = services["code"]["environment"]
    assert code["WX_API_BASE_URL"] == f"http://simulator:{port}"
    assert code["WX_NOW"] == command[command.index("--now") + 1]


def test_dotenv_is_the_example_with_the_blanks_filled(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(ENV_EXAMPLE.read_text(encoding="utf-8"))
    values = write_dotenv(tmp_path)
    written = (tmp_path / ".env").read_text(encoding="utf-8").splitlines()
    example = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(written) == len(example)
    changed = {a.split("=")[0] for a, b in zip(written, example, strict=True) if a != b}
    assert changed == set(values)
    assert all(f"{key}={value}" in written for key, value in values.items())
    assert len(values["WX_COMPONENT_AES_KEY"]) == 43
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert write_dotenv(tmp_path)["POSTGRES_PASSWORD"] != values["POSTGRES_PASSWORD"]


def test_compose_durations_and_published_ports_are_read_as_compose_does() -> None:
    assert _seconds("10s") == 10
    assert _seconds("1m30s") == 90
    assert _seconds("500ms") == 0.5
    assert published_port({"ports": ["127.0.0.1:5432:5432"]}) == 5432
    assert published_port({"ports": [{"target": 3000, "published": "3001"}]}) == 3001
