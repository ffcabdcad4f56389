"""One execution inside the sandbox, from its request to its single reply. stdlib only.

A job runs a fresh process (an argv, a source file through an interpreter, a compiled program, or a
fork of the agent for Python), or hands its code to a persistent REPL context (``repl.py``). Either
way its output flows into two ``OutputSink``s and it answers exactly once.
"""

from __future__ import annotations

import contextlib
import os
import time

from output import OutputSink, drain
from procs import SpawnError, child_setup, kill_tree, now_ticks, spawn
from protocol import decode_bytes, dumps, loads
from pyrun import run_python_source

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from main import Agent

__all__ = ["Job", "Piped"]

COMPILE_OUTPUT_CAP = 64 * 1024
ERROR_FIELD_CAP = 16 * 1024  # of an exception's name, value and traceback
INFO_CAP = 4 * ERROR_FIELD_CAP


class Piped:
    """A started process whose stdout and stderr flow into sinks until it exits."""

    def __init__(self, job: Job, out: OutputSink, err: OutputSink, on_exit: Callable[[int, bytes], None]) -> None:
        self.job = job
        self.on_exit = on_exit
        self.readers: dict[int, OutputSink] = {}
        self.write_ends: list[int] = []
        self.out_w = self._pipe(out)
        self.err_w = self._pipe(err)
        self.info = OutputSink("info", INFO_CAP, "", 0)

    def _pipe(self, sink: OutputSink) -> int:
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(read_end, False)
        self.readers[read_end] = sink
        self.write_ends.append(write_end)
        self.job.agent.loop.add_reader(read_end, lambda: self._readable(read_end))
        return write_end

    def info_pipe(self) -> int:
        """A third pipe for a forked Python child to report its exception as JSON."""
        return self._pipe(self.info)

    def started(self, pid: int) -> None:
        for fd in self.write_ends:
            os.close(fd)
        self.job.pids.append(pid)
        self.job.agent.loop.watch_child(pid, self._exited)

    def abandon(self) -> None:
        for fd in self.write_ends:
            os.close(fd)
        for fd in list(self.readers):
            self._close(fd)

    def _readable(self, fd: int) -> None:
        if drain(fd, self.readers[fd]):
            self._close(fd)

    def _close(self, fd: int) -> None:
        self.job.agent.loop.remove_reader(fd)
        self.readers.pop(fd, None)
        os.close(fd)

    def _exited(self, status: int) -> None:
        for fd in list(self.readers):
            drain(fd, self.readers[fd])
            self._close(fd)
        self.on_exit(status, bytes(self.info.inline))


class Job:
    def __init__(self, agent: Agent, req_id: int, params: dict[str, Any]) -> None:
        self.agent = agent
        self.req_id = req_id
        self.params = params
        self.marker = f"{agent.boot_id}-{req_id}"
        self.pids: list[int] = []
        self.meta: dict[str, Any] = {}
        self.timed_out = self.cancelled = self.done = False
        self.started = time.monotonic()
        self.since = now_ticks()
        inline_cap = int(params.get("max_output_bytes", 65536))
        on_chunk = agent.chunk_sender(req_id) if params.get("stream") else None
        spill = os.path.join(agent.scratch, "output", self.marker)
        self.stdout = OutputSink("stdout", inline_cap, spill + ".stdout", agent.spill_cap, on_chunk)
        self.stderr = OutputSink("stderr", inline_cap, spill + ".stderr", agent.spill_cap, on_chunk)
        self.env = {**agent.base_env, **params.get("env", {})}
        self.cwd = agent.resolve_cwd(params.get("cwd"))
        self.stdin_path = os.devnull
        timeout_ms = params.get("timeout_ms")
        self.timer = agent.loop.call_later(timeout_ms / 1000, self.expire) if timeout_ms else None
        self.on_kill: Callable[[], None] | None = None

    def write_stdin(self) -> None:
        """Put the request's stdin in a file the code reads from."""
        data_b64 = self.params.get("stdin_b64")
        if data_b64 is None:
            return
        path = os.path.join(self.agent.scratch, "stdin", self.marker)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            file.write(decode_bytes(data_b64))
        self.stdin_path = path

    # -- ending -------------------------------------------------------------------------------------
    def expire(self) -> None:
        self.timed_out = True
        self.kill()

    def cancel(self) -> None:
        self.cancelled = True
        self.kill()

    def kill(self) -> None:
        if self.on_kill is not None:
            self.on_kill()
        kill_tree(self.pids, since=self.since, spare=self.agent.busy_pids(self))

    def finish(self, exit_code: int, error: dict[str, Any] | None = None, **meta: Any) -> None:
        if self.done:
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        if self.stdin_path != os.devnull:
            with contextlib.suppress(OSError):  # the code may have deleted it
                os.unlink(self.stdin_path)
        self.meta.update(meta)
        self.agent.finish_job(
            self,
            {
                "exit_code": -1 if self.timed_out else exit_code,
                "timed_out": self.timed_out,
                "cancelled": self.cancelled,
                "error": error,
                "stdout": self.stdout.summary(),
                "stderr": self.stderr.summary(),
                "duration_ms": (time.monotonic() - self.started) * 1000,
                "meta": self.meta,
            },
        )

    def finish_status(self, status: int, info: bytes = b"") -> None:
        code = os.waitstatus_to_exitcode(status)
        error = _error_info(info)
        if code < 0:
            self.finish(128 - code, error, signal=-code)
        else:
            self.finish(code, error)

    # -- fresh processes -----------------------------------------------------------------------------
    def run_argv(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        piped = Piped(self, self.stdout, self.stderr, lambda status, _: self.finish_status(status))
        self._spawn(piped, argv, env or self.env)

    def _spawn(self, piped: Piped, argv: list[str], env: dict[str, str]) -> None:
        stdin = os.open(self.stdin_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            pid = spawn(argv, env, self.cwd, {0: stdin, 1: piped.out_w, 2: piped.err_w})
        except SpawnError as exc:
            self._not_started(piped, exc)
            return
        finally:
            os.close(stdin)
        piped.started(pid)

    def _not_started(self, piped: Piped, exc: SpawnError) -> None:
        piped.abandon()
        self.stderr.write(f"{exc}\n".encode())
        self.finish(127, {"name": "SpawnError", "value": str(exc), "traceback": ""})

    def run_python_fork(self, code: str) -> None:
        """A fresh Python process without interpreter start-up: fork the agent and run the code."""
        self.agent.enable_site()
        piped = Piped(self, self.stdout, self.stderr, self.finish_status)
        info_w = piped.info_pipe()
        stdin = os.open(self.stdin_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            pid = os.fork()
        except OSError as exc:  # out of pids or memory
            os.close(stdin)
            self._not_started(piped, SpawnError(f"cannot start Python: {exc.strerror}"))
            return
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                child_setup({0: stdin, 1: piped.out_w, 2: piped.err_w, 3: info_w}, self.cwd)
                os.environ.clear()
                os.environ.update(self.env)
                code_, error = run_python_source(code, {"__name__": "__main__"})
                if error:  # bounded, so it always fits the pipe and the agent's cap
                    error = {key: value[:ERROR_FIELD_CAP] for key, value in error.items()}
                    os.write(3, dumps(error).encode())
            except BaseException as exc:
                os.write(2, f"airlock agent: {exc!r}\n".encode())
                code_ = 126
            finally:
                os._exit(code_)
        os.close(stdin)
        piped.started(pid)

    def run_recipe(self, code: str, recipe: dict[str, Any]) -> None:
        """Interpret a source file, or compile it once (cached by content hash) and run the binary."""
        scratch = self.agent.scratch
        env = {**self.env, **{key: value.replace("{scratch}", scratch) for key, value in recipe.get("env", {}).items()}}
        if not recipe.get("compile"):
            source = os.path.join(self.agent.scratch, "cells", self.marker + recipe["suffix"])
            _write(source, code)
            self.meta["source"] = source
            self.run_argv([arg.replace("{file}", source) for arg in recipe["run"]], env)
            return
        import hashlib

        key = hashlib.sha256(dumps([recipe, code]).encode()).hexdigest()[:32]
        build = os.path.join(self.agent.scratch, "build", key)
        exe = os.path.join(build, "main")
        run = [arg.replace("{exe}", exe) for arg in recipe["run"]]
        if os.path.exists(exe):
            self.meta["compile_cached"] = True
            self.run_argv(run, env)
            return
        source = os.path.join(build, "main" + recipe["suffix"])
        _write(source, code)
        partial = f"{exe}.{self.marker}"
        argv = [arg.replace("{file}", source).replace("{exe}", partial) for arg in recipe["compile"]]
        out = OutputSink("compile", COMPILE_OUTPUT_CAP, partial + ".log", COMPILE_OUTPUT_CAP)
        started = time.monotonic()

        def compiled(status: int, _: bytes) -> None:
            out.close()
            with contextlib.suppress(OSError):
                os.unlink(out.spill_path)
            self.meta.update(compile_ms=(time.monotonic() - started) * 1000, compile_cached=False)
            code = os.waitstatus_to_exitcode(status)
            if code != 0 or self.timed_out or self.cancelled:
                self.stderr.write(bytes(out.inline))
                message = bytes(out.inline).decode(errors="replace").strip().splitlines()
                error = {"name": "CompileError", "value": message[0] if message else "", "traceback": ""}
                self.finish(code if code > 0 else 128 - code, error)
                return
            os.replace(partial, exe)
            self.run_argv(run, env)

        self._spawn(Piped(self, out, out, compiled), argv, env)


def _error_info(info: bytes) -> dict[str, Any] | None:
    """The exception a forked child reported, if what it wrote is one."""
    try:
        error = loads(info.decode()) if info else None
    except ValueError:  # garbled or cut: the exit code still tells what happened
        return None
    if isinstance(error, dict) and all(isinstance(error.get(k), str) for k in ("name", "value", "traceback")):
        return error
    return None


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
