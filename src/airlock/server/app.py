"""The server application: ``create_app(settings)`` builds it; ``serve`` runs it on uvicorn."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from airlock import __version__
from airlock.config import Settings
from airlock.runtime import Runtime
from airlock.server.agent_routes import agents
from airlock.server.command_routes import Commands, commands
from airlock.server.errors import install_error_handlers
from airlock.server.llm_api import llm
from airlock.server.metrics import Metrics
from airlock.server.policy_routes import PolicyReloader, policy
from airlock.server.routes import v1
from airlock.server.service import SandboxService
from airlock.server.snapshot_routes import snapshots
from airlock.store import Store
from airlock.store.sqlite import SQLiteStore

__all__ = ["BodyLimit", "create_app", "serve"]

logger = logging.getLogger(__name__)

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_ASGIApp = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether announced or streamed."""

    def __init__(self, app: _ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(
        self, scope: _Scope, receive: Callable[[], Awaitable[_Message]], send: Callable[[_Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counting() -> _Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counting, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: _Send) -> None:
        body = b'{"error": {"code": "payload_too_large", "message": "request body too large", "details": {}}}'
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, "request body too large")


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The app; its state (store, runtime, service) lives on ``app.state``, opened by its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_store = store or SQLiteStore(settings.database)
        await the_store.open()
        runtime = Runtime(settings)
        runtime.history = None  # the service records each execution itself, with its tenant
        svc = SandboxService(settings, the_store, runtime, app.state.metrics)
        app.state.service = svc
        await svc.startup()
        app.state.reloader = reloader = PolicyReloader(svc)
        app.state.commands = markdown_commands = Commands(settings)
        await markdown_commands.start()
        try:
            yield
        finally:
            await markdown_commands.aclose()
            app.state.reloader = None
            await reloader.aclose()
            await svc.shutdown(settings.server.shutdown_grace_s)
            await runtime.aclose()
            await the_store.close()

    app = FastAPI(
        title="Airlock",
        version=__version__,
        description="Run code written by AI agents in isolated sandboxes. Every error is "
        '`{"error": {"code", "message", "details"}}` with a stable `code`.',
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    install_error_handlers(app)
    app.include_router(v1)
    app.include_router(snapshots)
    app.include_router(policy)
    app.include_router(llm)
    app.include_router(agents)  # agent chat; its lifespan ends the chats before the service stops
    app.include_router(commands)  # markdown commands: list, show, run

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request, response: Response) -> dict[str, str]:
        ready = getattr(request.app.state, "service", None) is not None and request.app.state.service.ready
        if not ready:
            response.status_code = 503
        return {"status": "ready" if ready else "starting"}

    @app.get("/metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")

    app.add_middleware(BodyLimit, limit=settings.server.max_body_bytes)
    return app


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the server until SIGTERM or SIGINT; in-flight requests get ``shutdown_grace_s`` to finish.
    SIGHUP reads the policy from the settings file again (a bad file keeps the policy in force)."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host or settings.server.host,
        port=port if port is not None else settings.server.port,
        timeout_graceful_shutdown=int(settings.server.shutdown_grace_s) or None,
        log_level="info",
    )
    _Server(config, app).run()


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.reload_policy)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    def reload_policy(self) -> None:
        """SIGHUP: read the policy again, in the background; the outcome goes to the log."""
        reloader: PolicyReloader | None = getattr(self._app.state, "reloader", None)
        if reloader is None:
            logger.warning("SIGHUP before the server was ready: the policy was not reloaded")
            return
        reloader.in_background()
