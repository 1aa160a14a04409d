"""`wx-pipeline simulator` serves on the given port and prints how to reach it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from wx_pipeline.cli import main

EXE = Path(sys.executable).with_name("wx-pipeline")


def test_serves_and_prints_credentials(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        "- {app_id: wx1111111111111111, name: mine, secret_env: MY_SECRET, followers: 9000}\n"
    )
    command = [
        str(EXE),
        "simulator",
        "--port",
        "0",
        "--seed",
        "3",
        "--now",
        "2025-12-10 12:00",
        "--accounts",
        str(accounts),
    ]
    env = {"MY_SECRET": "s3cr3t", "PATH": "/usr/bin:/bin"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(3)]
            base_url = re.search(r"(http://127\.0\.0\.1:\d+)", lines[0]).group(1)  # type: ignore[union-attr]
            assert "app id: wx1111111111111111" in lines[1]
            assert "secret: s3cr3t" in lines[1]
            token = httpx.get(
                f"{base_url}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": "wx1111111111111111",
                    "secret": "s3cr3t",
                },
            ).json()["access_token"]
            answer = httpx.post(
                f"{base_url}/datacube/getusercumulate",
                params={"access_token": token},
                json={"begin_date": "2025-12-09", "end_date": "2025-12-09"},
            )
            assert answer.json()["list"][0]["cumulate_user"] > 0
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulator", "--now", "tomorrow"])
    assert result.exit_code == 2
    assert "--now: expected 'YYYY-MM-DD HH:MM'" in result.output
    result = CliRunner().invoke(main, ["simulator", "--accounts", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "cannot read accounts file" in result.output
