"""Helpers for the REST server's tests: plain httpx against a ``LiveServer`` (never the SDK), the
error envelope, server-sent events, and the sandbox processes a server leaves on the host."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from conftest import MARKER, LiveServer

__all__ = ["create", "error", "events", "exec_ok", "http", "processes_of", "wait_for_no_processes"]


def http(server: LiveServer, tenant: str = "alice") -> httpx.Client:
    """A client of ``server`` that sends an API key of ``tenant``."""
    headers = {"Authorization": f"Bearer {server.key(tenant)}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def error(reply: httpx.Response, status: int) -> str:
    """The stable code of an error reply, once its status and envelope are checked."""
    assert reply.status_code == status, reply.text
    body = reply.json()["error"]
    assert set(body) == {"code", "message", "details"}, body
    code: str = body["code"]
    return code


def create(api: httpx.Client, **body: Any) -> str:
    """A new running sandbox's id."""
    reply = api.post("/v1/sandboxes", json=body)
    assert reply.status_code == 201, reply.text
    assert reply.json()["status"] == "running"
    sandbox_id: str = reply.json()["id"]
    return sandbox_id


def exec_ok(api: httpx.Client, sandbox_id: str, code: str, **body: Any) -> dict[str, Any]:
    """The execution of ``code`` in a sandbox (HTTP 200; the code itself may have failed)."""
    reply = api.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"code": code, **body})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """Server-sent events as ``(event, data)``, the data decoded from JSON."""
    event, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data.append(line.partition(":")[2].strip())
        elif not line and data:
            yield event, json.loads("\n".join(data))
            event, data = "message", []


def processes_of(sandbox_ids: set[str]) -> list[int]:
    """Host processes that belong to one of these sandboxes (they carry the sandbox-id marker)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{name}/environ").read_bytes()
        except OSError:
            continue
        for entry in environ.split(b"\0"):
            if entry.startswith(MARKER) and entry[len(MARKER) :].decode(errors="replace") in sandbox_ids:
                found.append(int(name))
    return found


def wait_for_no_processes(sandbox_ids: set[str], deadline_s: float = 10) -> list[int]:
    """Wait (boundedly) for these sandboxes' processes to go; the ones still there after."""
    deadline = time.monotonic() + deadline_s
    while (left := processes_of(sandbox_ids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
