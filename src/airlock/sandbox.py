"""The handle callers hold: exec, streaming, files, REPL contexts, and a lifecycle state machine.

    created --start--> running --stop--> stopped --start--> running
        \\______________________\\_____________\\--destroy--> destroyed

An illegal transition (exec on a stopped sandbox, start after destroy) raises ``SandboxStateError``.
``async with`` starts the sandbox if needed and always destroys it, also when leaving by exception.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import logging
import re
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.errors import (
    CodeTooLarge,
    ControlTimeout,
    EmptyCode,
    FileTooLarge,
    InvalidRequest,
    PolicyDenied,
    SandboxDied,
    SandboxStateError,
    SnapshotError,
    SnapshotNotFound,
)
from airlock.languages import COMMAND, get_language
from airlock.models import (
    USE_DEFAULT,
    Capability,
    ExecutionContext,
    ExecutionError,
    ExecutionRequest,
    ExecutionResult,
    OutputChunk,
    SandboxState,
    SnapshotPolicy,
    UseDefault,
)
from airlock.policy.engine import rung
from airlock.policy.secrets import StreamRedactor
from airlock.store import utcnow

if TYPE_CHECKING:
    from airlock.backends.base import Environment
    from airlock.config import Settings
    from airlock.models import Verdict
    from airlock.policy import Policy
    from airlock.policy.egress import EgressProxy
    from airlock.snapshots import SnapshotInfo, SnapshotStore

__all__ = ["DEFAULT_CONTEXT", "FileInfo", "OutputCallback", "Recorder", "Sandbox", "check_code"]

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT = "default"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OutputCallback = Callable[[OutputChunk], None]
#: Told of each finished exec or command (the runtime's history): the result, and as keywords
#: ``sandbox_id``, ``agent_id``, ``language``, ``code`` and ``started_at``.
Recorder = Callable[..., Awaitable[None]]

_TRANSITIONS = {
    SandboxState.CREATED: {SandboxState.RUNNING, SandboxState.DESTROYED},
    SandboxState.RUNNING: {SandboxState.STOPPED, SandboxState.DESTROYED},
    SandboxState.STOPPED: {SandboxState.RUNNING, SandboxState.DESTROYED},
    SandboxState.DESTROYED: set(),
}


def check_code(code: str, max_bytes: int) -> None:
    """Raise unless ``code`` is something to run, and within ``max_bytes``."""
    if not code.strip():
        raise EmptyCode("there is no code to run")
    size = len(code.encode())
    if size > max_bytes:
        raise CodeTooLarge(f"code is {size} bytes; the limit is {max_bytes} (max_code_bytes)")


@dataclass(frozen=True)
class FileInfo:
    name: str
    path: str
    type: str
    size: int
    mode: int
    mtime: float


class _Decoder:
    """Turns streamed byte chunks into text chunks without splitting a UTF-8 character."""

    def __init__(self, callback: OutputCallback) -> None:
        self.callback = callback
        self.decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}

    def __call__(self, event: dict[str, Any]) -> None:
        stream = event.get("ev")
        if stream in self.decoders:
            text = self.decoders[stream].decode(base64.b64decode(event.get("b64", "")))
            if text:
                self.callback(OutputChunk(stream=stream, data=text))


@dataclass
class _Guarded:
    """An exec as the policy lets it run: its code as recorded, env, output callback and verdict."""

    code: str
    env: dict[str, str] | None
    on_output: OutputCallback | None
    verdict: Verdict | None
    guard: Policy | None
    redactor: Any = None

    def abandon(self) -> None:
        if self.guard is not None and self.verdict is not None:
            self.guard.forget(self.verdict)

    async def finish(self, result: ExecutionResult) -> ExecutionResult:
        if self.redactor is not None:
            self.redactor.flush()
        if self.guard is None or self.verdict is None:
            return result
        return await self.guard.finish(self.verdict, result)


class Sandbox:
    def __init__(
        self,
        environment: Environment,
        settings: Settings,
        *,
        backend: str,
        language: str,
        snapshots: SnapshotStore | None = None,
    ) -> None:
        self._env = environment
        self._settings = settings
        self.id = environment.sandbox_id
        self.backend = backend
        self.language = get_language(language).name
        self.state = SandboxState.CREATED
        self.last_error: str | None = None
        #: Environment variables every exec gets (under its own): a pool sets them per lease.
        self.env: dict[str, str] = {}
        #: What is snapshotted around each exec, and whether a failure rolls back.
        self.policy = SnapshotPolicy()
        #: Why this sandbox may not run anything (a restore failed part way), until restored or destroyed.
        self.quarantined: str | None = None
        #: Where each exec is recorded (set by the runtime when the sandbox is handed to a caller).
        self.recorder: Recorder | None = None
        #: The policy that judges each exec before it runs (set with the recorder), and the role
        #: it judges for; ``admitted`` is a verdict already given for the next exec (the runtime
        #: judged the request to choose this sandbox).
        self.guard: Policy | None = None
        self.role: str | None = None
        self.admitted: Verdict | None = None
        self._snapshots = snapshots
        self._last_exec: dict[str, Any] = {}  # the agent and outcome of the latest exec
        self._resume_after_restore = False
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<Sandbox {self.id} {self.backend} {self.state.value}>"

    @property
    def egress(self) -> EgressProxy | None:
        """The proxy that is this sandbox's only way out (None: it has the host's network, or none)."""
        return self._env.egress

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._env.backend.capabilities()

    @property
    def alive(self) -> bool:
        """Running, with its agent still there as far as the host can tell (no round trip)."""
        return self.state is SandboxState.RUNNING and self._env.alive

    @property
    def boot_ms(self) -> dict[str, float]:
        """How long the last start took, by phase: ``spawn`` and ``agent_ready`` (milliseconds)."""
        return dict(self._env.boot_ms)

    @property
    def workspace_path(self) -> str:
        """Where the workspace lives on the host (for the host's eyes only)."""
        return str(self._env.workspace)

    @property
    def services_dir(self) -> Path:
        """The host folder of the host's services to this sandbox (Unix sockets its code may connect
        to, not write); emptied by ``reset``, untouched by snapshots and restores."""
        return self._env.services_dir

    @property
    def services_path(self) -> str:
        """Where the sandbox's code sees ``services_dir`` (its ``AIRLOCK_SERVICES``)."""
        return self._env.services_path

    @property
    def owner(self) -> tuple[int, int] | None:
        """The host (uid, gid) the sandbox's code runs as, when not the process running Airlock."""
        return self._env.owner

    # -- lifecycle ----------------------------------------------------------------------------------
    def _move(self, target: SandboxState) -> None:
        if target not in _TRANSITIONS[self.state]:
            raise SandboxStateError(f"sandbox {self.id} is {self.state.value}; it cannot become {target.value}")
        self.state = target

    async def start(self) -> Sandbox:
        async with self._lock:
            if self.state not in (SandboxState.CREATED, SandboxState.STOPPED):
                self._move(SandboxState.RUNNING)  # raises with the reason
            await self._env.start(self._settings.control_timeout_s)
            self._move(SandboxState.RUNNING)
            self.last_error = None
        return self

    async def stop(self) -> None:
        async with self._lock:
            self._move(SandboxState.STOPPED)
            await self._env.stop()

    async def destroy(self) -> None:
        """Kill everything and delete the workspace. Destroying twice is a no-op."""
        async with self._lock:
            if self.state is SandboxState.DESTROYED:
                return
            self.state = SandboxState.DESTROYED
            await self._env.destroy()
            if self._snapshots is not None:
                await asyncio.to_thread(self._snapshots.drop_sandbox, self.id)

    async def __aenter__(self) -> Sandbox:
        if self.state is SandboxState.CREATED:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.destroy()

    def _require_running(self) -> None:
        if self.quarantined is not None:
            raise SandboxStateError(f"sandbox {self.id} is quarantined ({self.quarantined}); restore a snapshot")
        if self.state is not SandboxState.RUNNING:
            raise SandboxStateError(f"sandbox {self.id} is {self.state.value}, not running")
        if not self._env.alive:
            self._lost("the sandbox's agent is gone")
            raise SandboxStateError(f"sandbox {self.id} stopped: {self.last_error}")

    def _lost(self, reason: str) -> None:
        if self.state is SandboxState.RUNNING:
            self.state = SandboxState.STOPPED
        self.last_error = reason

    async def _request(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        self._require_running()
        assert self._env.channel is not None
        return await self._env.channel.request(op, params, timeout=self._settings.control_timeout_s)

    # -- execution ----------------------------------------------------------------------------------
    async def exec(
        self,
        code: str,
        language: str | None = None,
        *,
        timeout_ms: int | UseDefault | None = USE_DEFAULT,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdin: bytes | str | None = None,
        context: str | None = DEFAULT_CONTEXT,
        max_output_bytes: int | UseDefault = USE_DEFAULT,
        on_output: OutputCallback | None = None,
        agent_id: str | None = None,
    ) -> ExecutionResult:
        """Run ``code``. Python, JavaScript and Bash run in the persistent REPL context ``context``
        (state survives between calls); ``context=None`` runs in a fresh process. Rust and Go are
        compiled (cached by content) and run. ``policy`` decides the snapshots around it; ``agent_id``
        names who ran it (``rollback_to_last_success``)."""
        lang = get_language(language or self.language)
        self._check_code(code)
        plan = lang.plan(code, context)
        guarded = await self._guarded(code, lang.name, None, agent_id, timeout_ms, env, on_output)
        run = self._exec(plan, lang.name, timeout_ms, guarded.env, cwd, stdin, max_output_bytes, guarded.on_output)
        try:
            result = await self._with_policy(run, agent_id, guarded.code, lang.name)
        except BaseException:
            guarded.abandon()
            raise
        return await guarded.finish(result)

    async def _with_policy(
        self, run: Coroutine[Any, Any, ExecutionResult], agent_id: str | None, code: str, language: str
    ) -> ExecutionResult:
        """Run ``run`` with the snapshots the policy asks for around it, and record it."""
        started = utcnow()
        policy = self.policy
        before = None
        if policy.snapshot_before_exec or policy.auto_rollback_on_failure:
            self._require_running()
            try:
                before = await self.snapshot("before-exec")
            except BaseException:
                run.close()
                raise
        try:
            result = await run
        except asyncio.CancelledError:  # the caller gave up: the agent kills it; the history says so
            cancelled = ExecutionResult(exit_code=-1, cancelled=True, language=language, sandbox_id=self.id)
            await self._record(cancelled, agent_id, code, language, started)
            raise
        if before is not None:
            result.snapshots.append(before.id)
        if not result.success:
            if policy.snapshot_on_failure and self.state is SandboxState.RUNNING:
                result.snapshots.append((await self.snapshot("on-failure")).id)
            if policy.auto_rollback_on_failure and before is not None:
                await self.restore(before.id)
                result.rolled_back_to = before.id
        if result.rolled_back_to is None:  # else the restore brought back the provenance of that state
            self._last_exec = {"agent_id": agent_id, "success": result.success}
        await self._record(result, agent_id, code, language, started)
        return result

    async def _record(
        self, result: ExecutionResult, agent_id: str | None, code: str, language: str, started: datetime
    ) -> None:
        if self.recorder is not None:
            what = {"agent_id": agent_id, "language": language, "code": code, "started_at": started}
            await self.recorder(result, sandbox_id=self.id, **what)

    async def run_command(
        self,
        argv: list[str],
        *,
        timeout_ms: int | UseDefault | None = USE_DEFAULT,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdin: bytes | str | None = None,
        max_output_bytes: int | UseDefault = USE_DEFAULT,
        on_output: OutputCallback | None = None,
        agent_id: str | None = None,
    ) -> ExecutionResult:
        """Run a program directly, no shell: ``await sb.run_command(["ls", "-la"])``."""
        if not argv or not all(isinstance(arg, str) for arg in argv):
            raise EmptyCode("run_command needs a non-empty list of strings")
        self._check_code("\0".join(argv))
        plan = {"mode": "argv", "argv": argv}
        guarded = await self._guarded("", COMMAND, argv, agent_id, timeout_ms, env, on_output)
        run = self._exec(plan, COMMAND, timeout_ms, guarded.env, cwd, stdin, max_output_bytes, guarded.on_output)
        try:
            result = await self._with_policy(run, agent_id, guarded.code, COMMAND)
        except BaseException:
            guarded.abandon()
            raise
        return await guarded.finish(result)

    async def _guarded(
        self,
        code: str,
        language: str,
        argv: list[str] | None,
        agent_id: str | None,
        timeout_ms: int | UseDefault | None,
        env: dict[str, str] | None,
        on_output: OutputCallback | None,
    ) -> _Guarded:
        """Ask the policy (``PolicyDenied`` when it refuses); what it allows runs with the role's
        secrets in its env, its egress allowlist, and outputs redacted of those secrets."""
        admitted, self.admitted = self.admitted, None
        guard = self.guard  # the policy that admits it judges it to the end, whatever a reload does
        shown = shlex.join(argv) if argv is not None else code
        if guard is None:
            return _Guarded(shown, env, on_output, None, None)
        timeout = self._settings.default_timeout_ms if isinstance(timeout_ms, UseDefault) else timeout_ms
        request = ExecutionRequest(
            code=code, argv=argv, language=language, backend=self.backend, context=ExecutionContext(timeout_ms=timeout)
        )
        verdict = admitted or await guard.admit(request, role=self.role, agent_id=agent_id)
        if admitted is not None and verdict.isolation is not None and rung(self.backend) < rung(verdict.isolation):
            guard.forget(verdict)
            raise PolicyDenied(verdict.model_copy(update={"decision": "deny", "isolation": None}))
        role = guard.role(verdict.role)[1]
        secrets = guard.secrets
        if self.egress is not None:
            self.egress.allow_hosts = list(role.egress) if verdict.network else []
        merged = {**(env or {}), **secrets.env_for(role.secrets)}
        redactor = StreamRedactor(secrets, on_output) if on_output is not None and secrets.longest() else None
        return _Guarded(secrets.redact(shown), merged, redactor or on_output, verdict, guard, redactor)

    async def stream(
        self, code: str, language: str | None = None, **kwargs: Any
    ) -> AsyncIterator[OutputChunk | ExecutionResult]:
        """Yield output chunks as they come, then the result (or raise the exec's exception)."""
        queue: asyncio.Queue[OutputChunk | None] = asyncio.Queue()
        task = asyncio.create_task(self.exec(code, language, on_output=queue.put_nowait, **kwargs))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
            yield task.result()
        finally:
            task.cancel()

    def _check_code(self, code: str) -> None:
        check_code(code, self._settings.max_code_bytes)

    async def _exec(
        self,
        plan: dict[str, Any],
        language: str,
        timeout_ms: int | UseDefault | None,
        env: dict[str, str] | None,
        cwd: str | None,
        stdin: bytes | str | None,
        max_output_bytes: int | UseDefault,
        on_output: OutputCallback | None,
    ) -> ExecutionResult:
        self._require_running()
        timeout = self._settings.default_timeout_ms if isinstance(timeout_ms, UseDefault) else timeout_ms
        cap = self._settings.max_output_bytes if isinstance(max_output_bytes, UseDefault) else max_output_bytes
        if isinstance(stdin, str):
            stdin = stdin.encode()
        if stdin is not None and len(stdin) > self._env.limits.max_file_bytes:
            raise InvalidRequest(f"stdin is {len(stdin)} bytes; the limit is {self._env.limits.max_file_bytes}")
        env = {**self.env, **{str(k): str(v) for k, v in (env or {}).items()}}
        bad = [key for key in env if not _ENV_NAME.fullmatch(key)]
        if bad:
            raise InvalidRequest(f"invalid environment variable names: {', '.join(map(repr, bad))}")
        params = {
            **plan,
            "env": env,
            "cwd": cwd,
            "stdin_b64": None if stdin is None else base64.b64encode(stdin).decode(),
            "timeout_ms": timeout,
            "max_output_bytes": cap,
            "stream": on_output is not None,
        }
        deadline = None if timeout is None else timeout / 1000 + self._settings.timeout_grace_s
        channel = self._env.channel
        assert channel is not None
        oom_before = self._env.oom_kills()
        on_event = _Decoder(on_output) if on_output is not None else None
        try:
            reply = await channel.request("exec", params, on_event=on_event, timeout=deadline)
        except ControlTimeout:
            # The agent did not honour the timeout (it may be starved or wedged): the host's deadline
            # kills the whole sandbox.
            logger.warning("sandbox %s missed its deadline; killing it", self.id)
            self._lost("killed by the host: the agent missed the execution deadline")
            await self._env.stop()
            return self._died(language, self.last_error or "", timed_out=True, oom=self._env.oom_kills() > oom_before)
        except SandboxDied as exc:
            self._lost(f"the agent died mid-run: {exc}")
            await self._env.stop()
            return self._died(language, self.last_error or "", timed_out=False, oom=self._env.oom_kills() > oom_before)
        result = self._result(reply, language)
        if self._env.oom_kills() > oom_before:
            result.oom_killed = True
            result.error = result.error or ExecutionError(
                name="OutOfMemory",
                value=f"killed by the kernel: over the sandbox's {self._env.limits.memory_mb} MB memory limit",
            )
        return result

    def _result(self, reply: dict[str, Any], language: str) -> ExecutionResult:
        out, err = reply["stdout"], reply["stderr"]
        files = {name: stream["file"] for name, stream in (("stdout", out), ("stderr", err)) if stream["file"]}
        meta = dict(reply.get("meta", {}))
        signal = meta.pop("signal", None)
        error = reply.get("error")
        if error is not None and error.get("name") == "MemoryError":
            meta["memory_error"] = True
        return ExecutionResult(
            stdout=base64.b64decode(out["b64"]).decode(errors="replace"),
            stderr=base64.b64decode(err["b64"]).decode(errors="replace"),
            exit_code=reply["exit_code"],
            execution_time_ms=reply["duration_ms"],
            output_truncated=out["truncated"] or err["truncated"],
            output_file_path=files.get("stdout") or files.get("stderr"),
            output_files=files,
            timed_out=reply["timed_out"],
            cancelled=reply["cancelled"],
            oom_killed=error is not None and error.get("name") == "MemoryError",
            signal=signal,
            error=ExecutionError(**error) if error else None,
            language=language,
            sandbox_id=self.id,
            metadata={
                **meta,
                "stdout_bytes": out["total_bytes"],
                "stderr_bytes": err["total_bytes"],
                "dropped_bytes": out["dropped_bytes"] + err["dropped_bytes"],
            },
        )

    def _died(self, language: str, reason: str, *, timed_out: bool, oom: bool) -> ExecutionResult:
        return ExecutionResult(
            stderr=f"[airlock] {reason}\n",
            exit_code=-1,
            timed_out=timed_out,
            oom_killed=oom,
            sandbox_died=True,
            error=ExecutionError(name="OutOfMemory" if oom else "SandboxDied", value=reason),
            language=language,
            sandbox_id=self.id,
        )

    async def reset_context(self, language: str | None = None, context: str = DEFAULT_CONTEXT) -> bool:
        """Throw away a REPL context's state (and kill what it runs); True if there was one."""
        lang = get_language(language or self.language)
        if lang.repl is None:
            return False
        reply = await self._request("context.reset", {"repl": lang.repl, "context": context})
        return bool(reply["reset"])

    async def ping(self) -> dict[str, Any]:
        return await self._request("ping", {})

    async def reset(self) -> bool:
        """Make the sandbox as new: every process killed, REPL contexts gone, workspace and scratch
        space emptied, no service socket left, ``env`` cleared. False if something could not be
        removed."""
        reply = await self._request("reset", {})
        self.env = {}
        try:
            await asyncio.to_thread(self._env.reset_services)
        except OSError as exc:
            logger.warning("sandbox %s: reset could not empty its services folder: %s", self.id, exc)
            return False
        if reply["left"]:
            logger.warning("sandbox %s: reset could not remove %d paths", self.id, len(reply["left"]))
        return not reply["left"]

    # -- snapshots ----------------------------------------------------------------------------------
    def _store(self) -> SnapshotStore:
        if self._snapshots is None:
            raise SandboxStateError(f"sandbox {self.id} has no snapshot store (make it with a Runtime)")
        return self._snapshots

    def _trees(self) -> dict[str, Path]:
        return self._env.snapshot_trees()

    async def snapshot(self, name: str = "snapshot", *, pinned: bool = False) -> SnapshotInfo:
        """Snapshot the workspace (files only: no process memory). Past the cap (``max_snapshots``),
        the oldest unpinned snapshot goes."""
        if self.state is SandboxState.DESTROYED:
            raise SandboxStateError(f"sandbox {self.id} is destroyed")
        meta = {"after": dict(self._last_exec)}
        store = self._store()
        return await asyncio.to_thread(store.take, self.id, self._trees(), name=name, pinned=pinned, meta=meta)

    async def set_policy(self, policy: SnapshotPolicy) -> None:
        """What is snapshotted around each exec, and whether a failure rolls back (as ``policy = ...``;
        here so code written for a ``RemoteSandbox`` runs on this one)."""
        self.policy = policy

    async def list_snapshots(self) -> list[SnapshotInfo]:
        """This sandbox's snapshots, oldest first."""
        return await asyncio.to_thread(self._store().list_snapshots, self.id)

    async def get_snapshot(self, snapshot_id: str) -> SnapshotInfo:
        """One snapshot, its manifest checked (``SnapshotNotFound``, or ``SnapshotError`` if damaged)."""
        return await asyncio.to_thread(self._store().get, self.id, snapshot_id)

    async def forget_snapshots(self) -> None:
        """Delete every snapshot of this sandbox (a pool does this before it serves someone else)."""
        if self._snapshots is not None:
            await asyncio.to_thread(self._snapshots.drop_sandbox, self.id)
        self.policy = SnapshotPolicy()
        self._last_exec = {}

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await asyncio.to_thread(self._store().delete, self.id, snapshot_id)

    async def restore(self, snapshot_id: str) -> SnapshotInfo:
        """Roll the workspace back to a snapshot. The sandbox's processes are stopped for it (the
        files are changed with nothing running) and it is started again if it ran: REPL state is
        lost. A restore that fails part way quarantines the sandbox: nothing runs until a restore
        succeeds or it is destroyed."""
        store = self._store()
        async with self._lock:
            if self.state is SandboxState.DESTROYED:
                raise SandboxStateError(f"sandbox {self.id} is destroyed")
            await asyncio.to_thread(store.get, self.id, snapshot_id)  # refused before anything stops
            was_running = self.state is SandboxState.RUNNING or self._resume_after_restore
            if self.state is SandboxState.RUNNING:
                await self._env.stop()
                self.state = SandboxState.STOPPED
            try:
                info = await asyncio.to_thread(
                    store.restore, self.id, snapshot_id, self._trees(), owner=self._env.owner
                )
            except SnapshotError as exc:
                if exc.partial:
                    self.quarantined = str(exc)
                    self._resume_after_restore = was_running  # a good restore picks up where it was
                    logger.error("sandbox %s quarantined: %s", self.id, exc)
                if was_running and not exc.partial:
                    await self._env.start(self._settings.control_timeout_s)
                    self.state = SandboxState.RUNNING
                raise
            self.quarantined = None
            self._resume_after_restore = False
            self._last_exec = dict(info.meta.get("after", {}))
            if was_running:
                await self._env.start(self._settings.control_timeout_s)
                self.state = SandboxState.RUNNING
            return info

    async def rollback_to_last_success(self, agent_id: str | None = None) -> SnapshotInfo:
        """Restore the newest snapshot taken right after a successful exec of ``agent_id`` (with
        ``snapshot_before_exec``, the snapshot before the exec that followed it)."""
        for info in reversed(await self.list_snapshots()):
            after = info.meta.get("after", {})
            if after.get("success") and after.get("agent_id") == agent_id:
                return await self.restore(info.id)
        raise SnapshotNotFound(f"sandbox {self.id} has no snapshot after a successful exec of agent {agent_id!r}")

    # -- files --------------------------------------------------------------------------------------
    async def write_file(self, path: str, data: bytes | str, *, mode: int = 0o644, append: bool = False) -> int:
        """Write a file in the workspace (atomically, unless appending); returns its size."""
        raw = data.encode() if isinstance(data, str) else data
        if len(raw) > self._env.limits.max_file_bytes:
            raise FileTooLarge(f"{path}: {len(raw)} bytes; the limit is {self._env.limits.max_file_bytes}")
        payload = {"path": path, "b64": base64.b64encode(raw).decode(), "mode": mode, "append": append}
        reply = await self._request("file.write", payload)
        return int(reply["size"])

    async def read_file(self, path: str) -> bytes:
        """Read a whole file from the workspace, in parts if it is large."""
        parts, offset = [], 0
        while True:
            reply = await self._request(
                "file.read", {"path": path, "offset": offset, "length": self._env.limits.max_file_bytes}
            )
            part = base64.b64decode(reply["b64"])
            parts.append(part)
            offset += len(part)
            if reply["eof"] or not part:
                return b"".join(parts)

    async def list_files(self, path: str = ".") -> list[FileInfo]:
        reply = await self._request("file.list", {"path": path})
        base = reply["path"]
        return [FileInfo(path=f"{base.rstrip('/')}/{e['name']}", **e) for e in reply["entries"]]

    async def delete_file(self, path: str, *, recursive: bool = False) -> None:
        await self._request("file.delete", {"path": path, "recursive": recursive})

    async def make_dir(self, path: str) -> None:
        await self._request("file.mkdir", {"path": path})
