"""The host's end of the byte channel to an agent: framed JSON requests, several in flight."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

from airlock.agent.protocol import PROTOCOL_VERSION, FrameDecoder, FrameTooLarge, encode_frame
from airlock.errors import ControlTimeout, InvalidRequest, SandboxDied, SandboxStartError, agent_error

__all__ = ["AgentChannel", "EventHandler"]

logger = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, Any]], None]


class AgentChannel:
    """Sends requests to the agent and routes its events and replies back by request id."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str) -> None:
        self._reader = reader
        self._writer = writer
        self._name = name
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[dict[str, Any]], EventHandler | None]] = {}
        self._hello: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._closed: str | None = None
        self._task = asyncio.create_task(self._read_loop(), name=f"airlock-channel-{name}")

    @property
    def closed(self) -> bool:
        return self._closed is not None

    async def hello(self, timeout: float) -> dict[str, Any]:
        """Wait for the agent's greeting and check that it speaks our protocol."""
        try:
            hello = await asyncio.wait_for(asyncio.shield(self._hello), timeout)
        except TimeoutError:
            raise ControlTimeout(f"the agent of {self._name} did not start within {timeout:g}s") from None
        if hello.get("v") != PROTOCOL_VERSION:
            raise SandboxStartError(f"agent speaks protocol {hello.get('v')}, host speaks {PROTOCOL_VERSION}")
        return hello

    async def request(
        self, op: str, params: dict[str, Any], *, on_event: EventHandler | None = None, timeout: float | None
    ) -> dict[str, Any]:
        """Send one request and wait for its reply; raise the agent's error or ``ControlTimeout``."""
        if self._closed is not None:
            raise SandboxDied(self._closed)
        req_id = next(self._ids)
        try:
            frame = encode_frame({"id": req_id, "op": op, **params})
        except FrameTooLarge as exc:
            raise InvalidRequest(f"{op}: the request is too large to send ({exc})") from None
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = (future, on_event)
        try:
            try:
                self._writer.write(frame)
                await self._writer.drain()
            except (ConnectionError, RuntimeError) as exc:  # the pipe to the agent is gone
                raise SandboxDied(f"lost the agent of {self._name}: {exc}") from exc
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise ControlTimeout(f"{op} in {self._name} got no answer within {timeout:g}s") from None
        except asyncio.CancelledError:  # the caller gave up: tell the agent to kill what it started
            self.send_nowait("cancel", {"target": req_id})
            raise
        finally:
            self._pending.pop(req_id, None)
        if not reply.get("ok"):
            raise agent_error(reply.get("error") or {})
        result: dict[str, Any] = reply["result"]
        return result

    def send_nowait(self, op: str, params: dict[str, Any]) -> None:
        """Fire and forget (a cancel): no reply is awaited."""
        if self._closed is None:
            self._writer.write(encode_frame({"id": next(self._ids), "op": op, **params}))

    async def _read_loop(self) -> None:
        decoder = FrameDecoder()
        reason = "the agent closed its channel"
        try:
            while True:
                data = await self._reader.read(1 << 20)
                if not data:
                    break
                for message in decoder.feed(data):
                    self._route(message)
        except (ValueError, ConnectionError) as exc:  # a frame that is not ours: trust nothing after it
            reason = f"the agent's channel broke: {exc}"
            logger.warning("channel of %s broke: %s", self._name, exc)
        finally:
            self._close(reason)

    def _route(self, message: dict[str, Any]) -> None:
        req_id = message.get("id")
        if req_id == 0 and message.get("ev") == "hello":
            if not self._hello.done():
                self._hello.set_result(message)
            return
        entry = self._pending.get(req_id)  # type: ignore[arg-type]
        if entry is None:
            return
        future, on_event = entry
        if "ev" not in message:
            if not future.done():
                future.set_result(message)
        elif on_event is not None and not future.done():
            try:
                on_event(message)
            except Exception as exc:  # noqa: BLE001 - handed to the caller: its request fails, not the channel
                future.set_exception(exc)
                self.send_nowait("cancel", {"target": req_id})

    def _close(self, reason: str) -> None:
        self._closed = reason
        error = SandboxDied(f"{self._name}: {reason}")
        if not self._hello.done():
            self._hello.set_exception(error)
            self._hello.exception()  # retrieved: nobody may be waiting for it
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    async def aclose(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        except Exception:  # closing must always succeed; what broke was logged where it broke
            logger.exception("the channel of %s ended with an error", self._name)
