"""A test double, not a model: a real HTTP server on loopback that answers chat calls from a script.

``ScriptedModelServer`` speaks OpenAI's chat-completions protocol (``POST /v1/chat/completions``,
``GET /v1/models``) and Ollama's (``POST /api/chat``), so the real clients, over real sockets, can be
tested without a model, and ``benchmarks/rlm_eval.py`` can test its own harness::

    with ScriptedModelServer(["```repl\\nprint(len(context))\\n```", 'FINAL("42")']) as server:
        client = OpenAIClient(LlmConfig(base_url=server.base_url, model="scripted"))
        ...
        assert server.requests[0].body["messages"][0]["role"] == "system"

Each call plays the next entry of the script: a reply string, ``Fail(status, body, retry_after)``
to answer with an error, or ``Delay(seconds, reply)`` to answer late. In place of a list, a responder
``(messages, model) -> str | Fail | Delay`` decides each reply. A call past the end of the script gets
HTTP 410, whose message says so. Usage is counted at 4 characters a token; a ``max_tokens`` (or
``max_completion_tokens``, or Ollama's ``num_predict``) shorter than the reply cuts it, with finish
reason ``length``. Every request is recorded in ``requests``, also the refused ones; with
``api_key``, a request without ``Authorization: Bearer <api_key>`` is refused with 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airlock.llm.base import Message

__all__ = ["Delay", "Entry", "Fail", "RecordedRequest", "Responder", "ScriptedModelServer", "ServerState"]


@dataclass(frozen=True)
class Fail:
    """Answer with HTTP ``status``. ``body``: a message, put into the protocol's error shape, or a dict
    sent as it is (so ``Fail(200, {...})`` is a hand-made reply, say one without ``usage``);
    ``retry_after``: seconds, sent as the ``Retry-After`` header."""

    status: int
    body: str | dict[str, Any] = "scripted failure"
    retry_after: float | None = None


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds``, then answer with ``reply``."""

    seconds: float
    reply: str | Fail


Entry = str | Fail | Delay
Responder = Callable[[list[Message], str], Entry]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived: header names lower-cased, the body parsed (None when not JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


class ServerState(StrEnum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class ScriptedModelServer:
    """See the module's docstring. ``base_url`` (``http://127.0.0.1:PORT/v1``) is for OpenAI clients,
    ``url`` (``http://127.0.0.1:PORT``) for Ollama ones; both exist once the server runs."""

    def __init__(
        self, script: Iterable[Entry] | Responder = (), *, api_key: str | None = None, model: str = "scripted"
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.state = ServerState.NEW
        self._responder = script if callable(script) else None
        self._script: list[Entry] = [] if callable(script) else list(script)
        self._played = 0
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = f" at {self.url}" if self._httpd else ""
        return f"<ScriptedModelServer{where} {self.state.value}, {self._played} played>"

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> ScriptedModelServer:
        if self.state is not ServerState.NEW:
            raise RuntimeError(f"a {self.state.value} ScriptedModelServer cannot start; make a new one")
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-model", daemon=True
        )
        self._thread.start()
        self.state = ServerState.RUNNING
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections; a delayed reply in flight is abandoned. Idempotent."""
        if self.state is not ServerState.RUNNING or self._httpd is None or self._thread is None:
            self.state = ServerState.STOPPED
            return
        self.state = ServerState.STOPPED
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.drop_connections()
        self._thread.join()

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> ScriptedModelServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- what tests look at -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the ScriptedModelServer is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in order of arrival (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat calls (either protocol)."""
        return [r for r in self.requests if r.path in _CHAT_PATHS]

    @property
    def played(self) -> int:
        """How many chat calls were answered from the script or the responder."""
        with self._lock:
            return self._played

    @property
    def remaining(self) -> int:
        """Script entries not played yet (0 with a responder)."""
        with self._lock:
            return len(self._script) - self._played if self._responder is None else 0

    def add(self, *entries: Entry) -> None:
        """Append to the script."""
        with self._lock:
            self._script.extend(entries)

    # -- serving (called from the handler threads) --------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next(self, messages: list[Message], model: str) -> Entry:
        with self._lock:
            if self._responder is None and self._played >= len(self._script):
                return Fail(410, f"the scripted server has no reply left: its script had {len(self._script)}")
            self._played += 1
            if self._responder is None:
                return self._script[self._played - 1]
        try:
            return self._responder(messages, model)
        except Exception as exc:  # noqa: BLE001 - a responder's bug becomes a 500 the test can see
            return Fail(500, f"the scripted responder raised {type(exc).__name__}: {exc}")

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False when the server stopped meanwhile."""
        return not self._stopping.wait(seconds)


_CHAT_PATHS = ("/v1/chat/completions", "/api/chat")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # batched sub-calls connect all at once; the default 5 drops SYNs (1 s stalls)

    def __init__(self, address: tuple[str, int], handler: type[_Handler], owner: ScriptedModelServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """End kept-alive connections, so that no handler thread outlives the server."""
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a timed-out call, a stopped server) is not an error here."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``requests`` instead."""

    def do_GET(self) -> None:
        self._record(None)
        if not self._authorized():
            return
        if self._path() == "/v1/models":
            model = self.server.owner.model
            self._send(200, {"object": "list", "data": [{"id": model, "object": "model", "owned_by": "airlock"}]})
        else:
            self._error(404, f"no such route: GET {self._path()}")

    def do_POST(self) -> None:
        body = self._read_json()
        self._record(body)
        path = self._path()
        if not self._authorized():
            return
        if path not in _CHAT_PATHS:
            self._error(404, f"no such route: POST {path}")
        elif not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._error(400, "the body must be a JSON object with a 'messages' list")
        elif body.get("stream", path == "/api/chat"):
            self._error(400, "the scripted server does not stream: send stream=false")
        else:
            self._chat(body)

    # -- a chat call --------------------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> None:
        owner = self.server.owner
        model = str(body.get("model") or owner.model)
        entry = owner._next(body["messages"], model)
        if isinstance(entry, Delay):
            if not owner._wait(entry.seconds):
                self.close_connection = True
                return
            entry = entry.reply
        if isinstance(entry, Fail):
            self._fail(entry)
            return
        limit = _token_limit(body)
        text, finish = (entry, "stop") if limit is None or len(entry) <= limit * 4 else (entry[: limit * 4], "length")
        prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in body["messages"] if isinstance(m, dict))
        if self._path() == "/api/chat":
            self._send(200, _ollama_reply(model, text, finish, prompt_tokens))
        else:
            self._send(200, _openai_reply(model, text, finish, prompt_tokens))

    def _fail(self, fail: Fail) -> None:
        headers = {} if fail.retry_after is None else {"Retry-After": f"{fail.retry_after:g}"}
        if isinstance(fail.body, dict):
            self._send(fail.status, fail.body, headers)
        else:
            self._error(fail.status, fail.body, headers)

    # -- plumbing -----------------------------------------------------------------------------------
    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _read_json(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _record(self, body: Any) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.owner._record(RecordedRequest(self.command, self._path(), headers, body))

    def _authorized(self) -> bool:
        """True when no key is required or the right one came; else a 401 is sent."""
        key = self.server.owner.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._error(401, "Incorrect API key provided", code="invalid_api_key")
        return False

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None, *, code: str = "") -> None:
        if self._path() == "/api/chat":
            self._send(status, {"error": message}, headers)
        else:
            kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
            self._send(status, {"error": {"message": message, "type": kind, "code": code or None}}, headers)

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (its timeout) or the server is stopping
            self.close_connection = True


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _token_limit(body: dict[str, Any]) -> int | None:
    options = body.get("options")
    options = options if isinstance(options, dict) else {}
    for value in (body.get("max_completion_tokens"), body.get("max_tokens"), options.get("num_predict")):
        if isinstance(value, int) and value >= 0:
            return value
    return None


def _openai_reply(model: str, text: str, finish: str, prompt_tokens: int) -> dict[str, Any]:
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": _tokens(text)}
    return {
        "id": f"chatcmpl-scripted-{os.urandom(6).hex()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {**usage, "total_tokens": sum(usage.values())},
    }


def _ollama_reply(model: str, text: str, finish: str, prompt_tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "message": {"role": "assistant", "content": text},
        "done": True,
        "done_reason": finish,
        "prompt_eval_count": prompt_tokens,
        "eval_count": _tokens(text),
    }
