"""The model bridge: sandboxed code calls the model back through the host, with no network inside.

A ``Bridge`` is a Unix socket in its sandbox's services folder (on the host ``services/llm-<random>
.sock``; inside, the same name under ``Sandbox.services_path``), mode 0600 and the sandbox uid's, so
only the sandbox's code can connect. Every request carries the bridge's token (``secrets``-made, one
per bridge), which reaches the code in its environment (``bridge.env``, given to ``Sandbox.exec``),
never in its source, which the history records. Inside, ``import airlock_llm`` is the client
(``airlock/agent/airlock_llm.py``).

Wire: a frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON. Requests::

    {"token": str, "op": "llm_query" | "rlm_query", "prompt": str, "model": str | null}
    {"token": str, "op": "llm_query_batched", "prompts": [str, ...], "model": str | null}

Replies: ``{"ok": true, "result": str | [str, ...]}`` or ``{"ok": false, "error": str}``. A connection
may carry requests one after another, each sent once the last one is answered. A wrong token, a frame
that is not such a request, one over ``BridgeLimits.max_frame_bytes``: an error reply, the connection
closed, and nothing reaches the handler.

The handler answers one prompt: ``await handler(BridgeCall(op, prompt, model, index))``. The bridge
fans a batch out to it concurrently, answers in the prompts' order; at most ``max_concurrent``
handler calls run at once in the whole bridge, over all its connections. A handler that raises
gives the answer ``"Error: <Type>: <message>"`` for that prompt: failures of a sub-call are data to
the code, never a crash. A client that goes away (its exec timed out) cancels its handler calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hmac
import json
import logging
import secrets
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.errors import InvalidRequest, SandboxError, SandboxStateError
from airlock.sockets import bind_private, close_writer

if TYPE_CHECKING:
    from airlock.sandbox import Sandbox

__all__ = ["OPS", "Bridge", "BridgeCall", "BridgeLimits", "BridgeState", "BridgeStats", "Handler"]

logger = logging.getLogger(__name__)

#: What sandboxed code may ask for.
OPS = ("llm_query", "llm_query_batched", "rlm_query")
_HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class BridgeCall:
    """One prompt for the handler: ``op`` as the code asked, ``model`` (None: the default), and
    ``index``, the prompt's place in its batch (0 for a single call)."""

    op: str
    prompt: str
    model: str | None = None
    index: int = 0


Handler = Callable[[BridgeCall], Awaitable[str]]


@dataclass(frozen=True)
class BridgeLimits:
    """A frame's size (either way), the time a begun frame has to arrive, open connections, and the
    prompts of one batch (the host holds a batch's answers until the last one is in)."""

    max_frame_bytes: int = 16 << 20
    frame_timeout: float = 30.0
    max_connections: int = 64
    max_batch: int = 1024  #: prompts in one ``llm_query_batched``


@dataclass
class BridgeStats:
    """``calls``: handler calls; ``errors``: those that failed (their answer is an error string);
    ``refused``: requests refused before the handler; ``overhead_s``: per answered request (the
    latest 10 000), the bridge's own time from its frame's first byte to its reply sent, less the
    handler calls' (for a batch, the time from the first call started to the last one done)."""

    requests: int = 0
    calls: int = 0
    errors: int = 0
    refused: int = 0
    overhead_s: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))


class BridgeState(enum.Enum):
    NEW = "new"
    SERVING = "serving"
    CLOSED = "closed"


class _Refused(Exception):
    """A request answered with an error and the connection closed."""


@dataclass(frozen=True)
class _Request:
    op: str
    prompts: list[str]
    model: str | None
    batched: bool


class Bridge:
    """The model bridge of one session (an RLM run) in one sandbox: ``start`` it, hand ``env`` to
    the execs whose code may call the model, ``aclose`` it (or use ``async with``)."""

    def __init__(
        self, sandbox: Sandbox, handler: Handler, *, max_concurrent: int = 4, limits: BridgeLimits | None = None
    ) -> None:
        if max_concurrent < 1:
            raise InvalidRequest(f"max_concurrent is {max_concurrent}; it must be at least 1")
        self.sandbox = sandbox
        self.handler = handler
        self.max_concurrent = max_concurrent
        self.limits = limits or BridgeLimits()
        self.state = BridgeState.NEW
        self.stats = BridgeStats()
        #: The socket on the host, and the token; set by ``start``.
        self.path: Path | None = None
        self.token = ""
        self._slots = asyncio.Semaphore(max_concurrent)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"<Bridge {self.sandbox.id} {self.state.value}>"

    @property
    def socket_path(self) -> str:
        """The socket as the sandbox's code sees it."""
        if self.path is None or self.state is not BridgeState.SERVING:
            raise SandboxStateError(f"the model bridge of sandbox {self.sandbox.id} is {self.state.value}, not serving")
        return f"{self.sandbox.services_path}/{self.path.name}"

    @property
    def env(self) -> dict[str, str]:
        """For ``Sandbox.exec(env=...)``: where the bridge is, and its token."""
        return {"AIRLOCK_LLM_SOCKET": self.socket_path, "AIRLOCK_LLM_TOKEN": self.token}

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> Bridge:
        """Listen on a new socket with a new token; a second call does nothing."""
        if self.state is BridgeState.SERVING:
            return self
        if self.state is BridgeState.CLOSED:
            raise SandboxStateError(f"the model bridge of sandbox {self.sandbox.id} is closed; make a new one")
        path = self.sandbox.services_dir / f"llm-{secrets.token_hex(8)}.sock"
        try:
            sock = bind_private(path, self.sandbox.owner)
        except OSError as exc:
            raise SandboxError(f"cannot start the model bridge of sandbox {self.sandbox.id}: {exc}") from exc
        try:
            self._server = await asyncio.start_unix_server(self._handle, sock=sock)
        except BaseException:
            sock.close()
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self.path, self.token, self.state = path, secrets.token_urlsafe(32), BridgeState.SERVING
        return self

    async def aclose(self) -> None:
        """Stop listening, end every connection (cancelling its handler calls), remove the socket.
        Safe to call again."""
        self.state = BridgeState.CLOSED
        server, self._server = self._server, None
        if server is not None:
            server.close()
            if self.path is not None:
                with contextlib.suppress(OSError):
                    self.path.unlink()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> Bridge:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- one connection -----------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if len(self._tasks) > self.limits.max_connections:
                self.stats.refused += 1
                await self._send(writer, {"ok": False, "error": f"more than {self.limits.max_connections} connections"})
                return
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the bridge is closing
        except Exception:
            logger.exception("sandbox %s: the model bridge failed on a connection", self.sandbox.id)
        finally:
            self._tasks.discard(task)
            await close_writer(writer)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is to be closed."""
        try:
            header = await reader.readexactly(_HEADER.size)
        except asyncio.IncompleteReadError:
            return False  # closed between requests: the usual end
        started = time.perf_counter()
        try:
            request = _parse(await self._read_body(reader, header), self.token, self.limits.max_batch)
        except _Refused as exc:
            self.stats.refused += 1
            await self._send(writer, {"ok": False, "error": str(exc)})
            return False
        answered = await self._answer(request, reader)
        if answered is None:
            return False
        result, handler_s = answered
        sent = await self._send(writer, {"ok": True, "result": result})
        self.stats.requests += 1
        self.stats.overhead_s.append(time.perf_counter() - started - handler_s)
        return sent

    async def _read_body(self, reader: asyncio.StreamReader, header: bytes) -> bytes:
        (length,) = _HEADER.unpack(header)
        if length > self.limits.max_frame_bytes:
            raise _Refused(f"the request is {length} bytes; the limit is {self.limits.max_frame_bytes}")
        try:
            async with asyncio.timeout(self.limits.frame_timeout):
                return await reader.readexactly(length)
        except TimeoutError as exc:
            raise _Refused(f"no complete request within {self.limits.frame_timeout:g} s") from exc

    async def _send(self, writer: asyncio.StreamWriter, reply: dict[str, Any]) -> bool:
        """Write a reply; one over the frame limit becomes an error reply (and False)."""
        data = json.dumps(reply).encode()
        fits = len(data) <= self.limits.max_frame_bytes
        if not fits:
            message = f"the reply is {len(data)} bytes; the limit is {self.limits.max_frame_bytes}"
            data = json.dumps({"ok": False, "error": message}).encode()
        writer.write(_HEADER.pack(len(data)) + data)
        await writer.drain()
        return fits

    async def _answer(self, request: _Request, reader: asyncio.StreamReader) -> tuple[str | list[str], float] | None:
        """Run the request's handler calls, watching the connection: a client that closes it (or
        writes out of turn) meanwhile cancels them (None)."""
        work = asyncio.ensure_future(self._dispatch(request))
        watch = asyncio.ensure_future(reader.read(1))
        try:
            await asyncio.wait((work, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()  # before the reply goes out: the next request's bytes are not its
            if not work.done():
                work.cancel()
            await asyncio.gather(work, watch, return_exceptions=True)
        if work.cancelled() or (watch.done() and not watch.cancelled()):
            return None
        return work.result()

    async def _dispatch(self, request: _Request) -> tuple[str | list[str], float]:
        started = time.perf_counter()
        calls = [BridgeCall(request.op, prompt, request.model, i) for i, prompt in enumerate(request.prompts)]
        if request.batched:
            result: str | list[str] = await self._batch(calls)
        else:
            result = await self._call(calls[0])
        return result, time.perf_counter() - started

    async def _batch(self, calls: list[BridgeCall]) -> list[str]:
        """Every call's answer, in order, by at most ``max_concurrent`` workers taking the next call
        in turn: a batch never holds more than that many tasks, however long it is."""
        answers = [""] * len(calls)
        pending = iter(calls)

        async def worker() -> None:
            for call in pending:  # one iterator shared by the workers: each call is taken once
                answers[call.index] = await self._call(call)

        await asyncio.gather(*(worker() for _ in range(min(self.max_concurrent, len(calls)))))
        return answers

    async def _call(self, call: BridgeCall) -> str:
        async with self._slots:
            self.stats.calls += 1
            try:
                answer: object = await self.handler(call)
            except Exception as exc:  # noqa: BLE001 - the code gets it as its answer, a string
                self.stats.errors += 1
                logger.info("sandbox %s: a model bridge call failed: %s", self.sandbox.id, type(exc).__name__)
                return f"Error: {type(exc).__name__}: {exc}"
        if not isinstance(answer, str):
            self.stats.errors += 1
            return f"Error: TypeError: the bridge's handler returned {type(answer).__name__}, not str"
        return answer


def _parse(body: bytes, token: str, max_batch: int) -> _Request:
    """The request in ``body``, checked: its token first, so a stranger learns nothing else."""
    try:
        message = json.loads(body.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Refused("the request is not UTF-8 JSON") from exc
    if not isinstance(message, dict):
        raise _Refused("the request is not a JSON object")
    sent = message.get("token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), token.encode()):
        raise _Refused("wrong token")
    op, model = message.get("op"), message.get("model")
    if op not in OPS:
        raise _Refused(f"unknown op {str(op)[:40]!r}; the bridge knows {', '.join(OPS)}")
    if model is not None and not isinstance(model, str):
        raise _Refused("model must be a string or null")
    if op == "llm_query_batched":
        prompts = message.get("prompts")
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise _Refused("prompts must be a list of strings")
        if len(prompts) > max_batch:
            raise _Refused(f"a batch of {len(prompts)} prompts; the limit is {max_batch} (split it)")
        return _Request(op, prompts, model, batched=True)
    prompt = message.get("prompt")
    if not isinstance(prompt, str):
        raise _Refused("prompt must be a string")
    return _Request(op, [prompt], model, batched=False)
