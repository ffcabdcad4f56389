"""Persistent REPL contexts: Python globals, a node global scope, a bash session. stdlib only.

A context is one long-lived worker process. Jobs run in it one at a time, in order; its stdout and
stderr are attributed to the job running at the moment. The worker tells the agent that a job is done
on a result pipe, after flushing its output, so the agent has every byte before it answers. A job that
times out kills the worker (and all it started): the context is lost, says so in the result, and the
next job starts a fresh one.
"""

from __future__ import annotations

import io
import os
import sys

from output import drain
from procs import SpawnError, child_setup, kill_tree, spawn
from protocol import dumps, loads
from pyrun import run_python_source

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from typing import Any

    from jobs import Job
    from main import Agent

__all__ = ["KINDS", "Context"]

BASH_RESULT_FD = 63

NODE_BOOT = r"""
const fs = require('fs'), vm = require('vm');
globalThis.require = require;
process.on('uncaughtException', (e) => process.stderr.write(((e && e.stack) || String(e)) + '\n'));
async function runJob(job) {
  const before = {};  // the job's env holds only for the job (a secret is gone before the next)
  for (const k of Object.keys(job.env)) before[k] = process.env[k];
  Object.assign(process.env, job.env);
  if (job.cwd) process.chdir(job.cwd);
  let exit_code = 0, error = null;
  try {
    const value = vm.runInThisContext(job.code, {filename: 'cell.js'});
    if (value && typeof value.then === 'function') await value;
  } catch (e) {
    const isError = e instanceof Error;
    const stack = isError ? (e.stack || String(e)) : 'Uncaught ' + String(e);
    process.stderr.write(stack + '\n');
    exit_code = 1;
    error = {name: isError ? e.name : typeof e, value: isError ? e.message : String(e), traceback: stack};
  }
  for (const [k, v] of Object.entries(before)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  fs.writeSync(4, JSON.stringify({exit_code, error}) + '\n');
}
let pending = '', chain = Promise.resolve();
const input = fs.createReadStream(null, {fd: 3, encoding: 'utf8'});
input.on('data', (chunk) => {
  pending += chunk;
  for (let i; (i = pending.indexOf('\n')) >= 0; pending = pending.slice(i + 1)) {
    const job = JSON.parse(pending.slice(0, i));
    chain = chain.then(() => runJob(job));
  }
});
input.on('end', () => process.exit(0));
"""


def _python_worker() -> None:  # pragma: no cover - runs in the forked worker
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for line in os.fdopen(3, "rb"):
        job = loads(line.decode())
        # The job's env holds only for the job: a secret or a bridge token given to one exec is
        # gone before the next (the context's own os.environ changes to other names persist).
        before = {name: os.environ.get(name) for name in job["env"]}
        os.environ.update(job["env"])
        if job["cwd"]:
            os.chdir(job["cwd"])
        stdin = os.open(job["stdin"], os.O_RDONLY)
        os.dup2(stdin, 0)
        os.close(stdin)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        code, error = run_python_source(job["code"], namespace)
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.write(4, (dumps({"exit_code": code, "error": error}) + "\n").encode())
    os._exit(0)


KINDS = ("python", "node", "bash")


class Context:
    def __init__(self, agent: Agent, name: str, kind: str) -> None:
        self.agent = agent
        self.name = name
        self.kind = kind
        self.queue: list[tuple[Job, str]] = []
        self.current: Job | None = None
        self.pid: int | None = None
        self.fds: dict[str, int] = {}
        self._pending = b""
        self.runs = 0
        self.dying = False  # a kill was sent: no job goes to this worker any more

    # -- jobs ---------------------------------------------------------------------------------------
    def submit(self, job: Job, code: str) -> None:
        if self.kind == "node" and job.stdin_path != os.devnull:
            job.finish(2, _error("ValueError", "stdin is not supported in a JavaScript context; run it fresh"))
            return
        self.queue.append((job, code))
        job.on_kill = lambda: self._drop_queued(job)
        self._next()

    def _drop_queued(self, job: Job) -> None:
        queued = [entry for entry in self.queue if entry[0] is job]
        for entry in queued:
            self.queue.remove(entry)
            job.finish(-1, None)

    def _doom(self) -> None:
        self.dying = True

    def _next(self) -> None:
        while self.current is None and self.queue and not self.dying:
            job, code = self.queue.pop(0)
            job.on_kill = self._doom  # a timeout or cancel kills the worker: it gets no more jobs
            try:
                if self.pid is None:
                    self._start()
                command = self._command(job, code)
            except (OSError, SpawnError) as exc:  # out of pids, memory or scratch space
                job.finish(127, _error("SpawnError", f"cannot run in the {self.kind} context: {exc}"))
                continue
            self.current = job
            job.pids.append(self.pid)  # type: ignore[arg-type]
            job.meta.update(context=self.name, context_runs=self.runs)
            self.runs += 1
            try:
                view = memoryview(command)
                while view:
                    view = view[os.write(self.fds["cmd_w"], view) :]
            except OSError:  # the worker is gone; its end finishes the job
                self.kill()

    def _command(self, job: Job, code: str) -> bytes:
        env = job.params.get("env", {})
        if self.kind != "bash":
            return (dumps({"code": code, "cwd": job.cwd, "env": env, "stdin": job.stdin_path}) + "\n").encode()
        import shlex  # only bash needs it, and it imports re

        cell = os.path.join(self.agent.scratch, "cells", job.marker + ".sh")
        os.makedirs(os.path.dirname(cell), exist_ok=True)
        with open(cell, "w", encoding="utf-8") as file:
            file.write(code)
        # The job's env holds only for the job: each variable is put back (or unset) after the cell.
        saves = "".join(f"__airlock_had_{key}=${{{key}+x}}; __airlock_old_{key}=${{{key}-}}\n" for key in env)
        exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())
        restores = "".join(
            f'if [ -n "$__airlock_had_{key}" ]; then {key}=$__airlock_old_{key}; else unset {key}; fi; '
            f"unset __airlock_had_{key} __airlock_old_{key}\n"
            for key in env
        )
        cd = f"cd -- {shlex.quote(job.cwd)} && " if job.params.get("cwd") else ""
        quoted = shlex.quote(cell)
        return (
            f"{saves}{exports}{{ {cd}. {quoted}; }} < {shlex.quote(job.stdin_path)}\n"
            f"__airlock_status=$?\n{restores}"
            f"printf '%s\\n' \"$__airlock_status\" >&{BASH_RESULT_FD}; rm -f {quoted}\n"
        ).encode()

    # -- the worker ----------------------------------------------------------------------------------
    def _start(self) -> None:
        loop = self.agent.loop
        cmd_r, cmd_w = os.pipe2(os.O_CLOEXEC)
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        env, cwd = self.agent.base_env, self.agent.workspace
        try:
            if self.kind == "python":
                self.agent.enable_site()
                self.pid = os.fork()
                if self.pid == 0:  # pragma: no cover - the worker
                    try:
                        child_setup({0: null, 1: out_w, 2: err_w, 3: cmd_r, 4: res_w}, cwd)
                        os.environ.clear()
                        os.environ.update(env)
                        _python_worker()
                    except BaseException as exc:
                        os.write(2, f"airlock: the Python context failed: {exc!r}\n".encode())
                    finally:
                        os._exit(126)
            elif self.kind == "node":
                fds = {0: null, 1: out_w, 2: err_w, 3: cmd_r, 4: res_w}
                self.pid = spawn(["node", "-e", NODE_BOOT], env, cwd, fds)
            else:
                fds = {0: cmd_r, 1: out_w, 2: err_w, BASH_RESULT_FD: res_w}
                self.pid = spawn(["bash", "--noprofile", "--norc"], env, cwd, fds)
        except BaseException:
            for fd in (cmd_w, res_r, out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in (cmd_r, res_w, out_w, err_w, null):
                os.close(fd)
        for fd in (res_r, out_r, err_r):
            os.set_blocking(fd, False)
        self.fds = {"cmd_w": cmd_w, "res_r": res_r, "out_r": out_r, "err_r": err_r}
        loop.add_reader(out_r, lambda: self._output(out_r, "stdout"))
        loop.add_reader(err_r, lambda: self._output(err_r, "stderr"))
        loop.add_reader(res_r, self._result)
        loop.watch_child(self.pid, self._exited)

    def _sink(self, stream: str) -> Any:
        return None if self.current is None else getattr(self.current, stream)

    def _output(self, fd: int, stream: str) -> None:
        if drain(fd, self._sink(stream)):
            self.agent.loop.remove_reader(fd)

    def _drain_output(self) -> None:
        drain(self.fds["out_r"], self._sink("stdout"))
        drain(self.fds["err_r"], self._sink("stderr"))

    def _result(self) -> None:
        try:
            data = os.read(self.fds["res_r"], 65536)
        except BlockingIOError:
            return
        if not data:
            self.agent.loop.remove_reader(self.fds["res_r"])
            return
        self._pending += data
        while b"\n" in self._pending and self.current is not None:
            line, self._pending = self._pending.split(b"\n", 1)
            self._drain_output()
            job, self.current = self.current, None
            try:
                if self.kind == "bash":
                    job.finish(int(line))
                else:
                    reply = loads(line.decode())
                    job.finish(int(reply["exit_code"]), reply["error"])
            except (ValueError, KeyError, TypeError):  # the code wrote on the worker's result pipe
                message = "the context's result channel was written to by the code; the context was reset"
                job.finish(1, _error("ContextCorrupted", message), context_lost=True)
                self.kill()
                return
        self._next()

    def _exited(self, status: int) -> None:
        self._drain_output()
        for fd in self.fds.values():
            self.agent.loop.remove_reader(fd)
            os.close(fd)
        self.fds, self.pid, self._pending, self.runs, self.dying = {}, None, b"", 0, False
        job, self.current = self.current, None
        if job is not None:
            job.meta["context_lost"] = True
            job.finish_status(status)
        self._next()

    def kill(self) -> None:
        """Kill the worker and everything it started; the context starts afresh on its next job."""
        if self.pid is not None:
            pid = self.pid
            kill_tree([pid])
            # Reap it now, so the next job cannot be handed to the dying worker.
            _, status = os.waitpid(pid, 0)
            self.agent.loop.unwatch_child(pid)
            self._exited(status)


def _error(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value, "traceback": ""}
