"""Schemathesis against the live server's own OpenAPI document: whatever it sends, valid or not, the
server never answers with a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LiveServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(live_server: LiveServer, namespace_backend: str, tmp_path: Path) -> None:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{live_server.url}/openapi.json",
        f"--header=Authorization: Bearer {live_server.key('fuzzer')}",
        "--checks=not_a_server_error",
        "--max-examples=10",  # per operation and phase
        "--max-time=45",  # and a budget for the whole run
        "--seed=7",  # the same requests every run; change it to explore further
        "--workers=1",
        "--request-timeout=60",
        "--generation-database=none",
        "--no-color",
    ]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=100)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
