"""Reading the deployment files as Compose and Docker would: the services, their commands and
environments (with Compose's variable interpolation), and the image's ENV."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOY = ROOT / "deploy"

#: ${VAR}, ${VAR:-default}, ${VAR:?message} and the other forms of Compose's interpolation.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


class MissingVariableError(ValueError):
    """A ``${VAR:?message}`` whose variable is not set: Compose refuses to start."""


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def command(service: Mapping[str, Any]) -> list[str]:
    value = service["command"]
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's ``environment`` as written (anchors merged, not interpolated)."""
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """``value`` with Compose's ``${...}`` forms replaced from ``variables`` (shell and .env)."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        current = variables.get(name)
        unset_or_empty = not current if op and op.startswith(":") else current is None
        if op in (":-", "-"):
            return arg if unset_or_empty else str(current)
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariableError(f"{name}: {arg}")
            return str(current)
        if op in (":+", "+"):
            return "" if unset_or_empty else arg
        return current or ""

    return INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def image_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ENV of the Dockerfile's final stage (``KEY=value`` pairs), as every container starts
    with it; ``$VAR`` and ``${VAR}`` are substituted as Docker does, from the stage's earlier
    ENV or ``base`` (the base image's environment), else with nothing."""
    found: dict[str, str] = {}
    for keyword, args in final_stage():
        if keyword == "ENV":
            known = {**(base or {}), **found}  # one ENV's pairs see only what came before it
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                found[key] = _substitute(value, known)
    return found


def _substitute(value: str, variables: Mapping[str, str]) -> str:
    """``$VAR`` and ``${VAR}`` in a Dockerfile value, replaced from ``variables``."""
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m.group(1), ""), value
    )


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the Dockerfile's last stage, its FROM first: what the image is."""
    instructions = dockerfile_instructions()
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return instructions[starts[-1] :]


def container_env(
    services: Mapping[str, Mapping[str, Any]],
    name: str,
    dotenv: Mapping[str, str],
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What the container of service ``name`` gets: ``base`` (the base image's environment),
    the image's ENV, then its ``env_file`` (``dotenv``, the .env file's variables), then its
    ``environment`` interpolated from them."""
    service = services[name]
    env = {**(base or {}), **image_env(base)}
    if service.get("env_file"):
        env.update(dotenv)
    env.update({k: interpolate(v, dotenv) for k, v in environment(service).items()})
    return env
