"""The Airlock agent: the one program that runs inside every sandbox. stdlib only.

Started by a backend as ``python3 -I -S -c "...; import main; main.main()" CONFIG_JSON`` with the
host's channel on its stdin and stdout. It answers requests (see ``protocol.py``) until its input
closes or it is told to shut down.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import files
from jobs import Job
from loop import Loop
from procs import kill_tree
from protocol import PROTOCOL_VERSION, FrameDecoder, FrameTooLarge, RequestError, encode_bytes, encode_frame, loads
from repl import KINDS, Context

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Agent:
    def __init__(self, config: dict[str, Any], in_fd: int, out_fd: int) -> None:
        self.workspace = config["workspace"]
        self.scratch = config["scratch"]
        self.spill_cap = int(config.get("spill_cap", 64 << 20))
        self.max_file_bytes = int(config.get("max_file_bytes", 32 << 20))
        self.boot_id = f"{config.get('sandbox_id', 'sandbox')}-{time.time_ns():x}"
        self.base_env = dict(os.environ)
        self.loop = Loop()
        self.in_fd, self.out_fd = in_fd, out_fd
        self.decoder = FrameDecoder()
        self.jobs: dict[int, Job] = {}
        self.contexts: dict[str, Context] = {}
        self.started = time.monotonic()
        self._site_enabled = False
        self.python_path = config.get("python_path")
        self.wipe = list(config.get("wipe", []))
        self.skeleton = list(config.get("skeleton", []))
        os.set_blocking(in_fd, False)
        self.loop.add_reader(in_fd, self._readable)

    # -- channel ------------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        self._write(encode_frame(message))

    def _write(self, frame: bytes) -> None:
        view = memoryview(frame)
        while view:
            view = view[os.write(self.out_fd, view) :]

    def fail(self, req_id: int, kind: str, message: str) -> None:
        self.send({"id": req_id, "ok": False, "error": {"type": kind, "message": message}})

    def chunk_sender(self, req_id: int) -> Callable[[str, bytes], None]:
        def send_chunk(stream: str, data: bytes) -> None:
            self.send({"id": req_id, "ev": stream, "b64": encode_bytes(data)})

        return send_chunk

    def _readable(self) -> None:
        try:
            data = os.read(self.in_fd, 1 << 20)
        except BlockingIOError:
            return
        if not data:
            self.shutdown()
            return
        for message in self.decoder.feed(data):
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        req_id = message.get("id")
        if not isinstance(req_id, int):
            return
        handler = getattr(self, "op_" + str(message.get("op", "")).replace(".", "_"), None)
        if handler is None:
            self.fail(req_id, "UnknownOperation", f"unknown operation {message.get('op')!r}")
            return
        try:
            result = handler(req_id, message)
        except RequestError as exc:
            self.fail(req_id, exc.kind, str(exc))
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(req_id, "BadRequest", f"malformed {message.get('op')} request: {exc!r}")
        except OSError as exc:
            self.fail(req_id, "OSError", f"{message.get('op')}: {exc}")
        else:
            if result is not None:
                self.reply(req_id, result)

    def reply(self, req_id: int, result: dict[str, Any]) -> None:
        """Send a result; one that cannot be sent becomes an error reply, never a dead agent."""
        try:
            frame = encode_frame({"id": req_id, "ok": True, "result": result})
        except (ValueError, TypeError) as exc:  # FrameTooLarge, or text that is not UTF-8
            self.fail(req_id, "ReplyTooLarge" if isinstance(exc, FrameTooLarge) else "BadReply", str(exc))
            return
        self._write(frame)

    # -- helpers for jobs ---------------------------------------------------------------------------
    def resolve_cwd(self, cwd: str | None) -> str:
        path = os.path.join(self.workspace, cwd) if cwd else self.workspace
        if not os.path.isdir(path):
            raise RequestError("NotADirectory", f"working directory {cwd!r} does not exist in the sandbox")
        return path

    def enable_site(self) -> None:
        """Give Python code the interpreter's site-packages; done once, inherited by every fork.

        The host tells the paths (``python_path``): running ``site`` here would cost ~2 ms.
        """
        if not self._site_enabled:
            if self.python_path is None:
                import site

                site.main()
            else:
                sys.path.extend(p for p in self.python_path if p not in sys.path)
            self._site_enabled = True

    def busy_pids(self, besides: Job) -> list[int]:
        """The leaders of every other execution still running, and every REPL worker."""
        pids = [pid for job in self.jobs.values() if job is not besides for pid in job.pids]
        pids += [c.pid for c in self.contexts.values() if c.pid is not None and c.pid not in besides.pids]
        return pids

    def finish_job(self, job: Job, result: dict[str, Any]) -> None:
        self.jobs.pop(job.req_id, None)
        self.reply(job.req_id, result)

    # -- operations ---------------------------------------------------------------------------------
    def op_ping(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        return {"pid": os.getpid(), "uptime_ms": (time.monotonic() - self.started) * 1000, "jobs": len(self.jobs)}

    def op_exec(self, req_id: int, message: dict[str, Any]) -> None:
        job = Job(self, req_id, message)
        self.jobs[req_id] = job
        try:
            job.write_stdin()
            self._start_job(job, message)
        except OSError as exc:  # the sandbox's scratch space is full, or the like: a result, not a crash
            job.stderr.write(f"airlock: cannot run: {exc.strerror}\n".encode())
            job.finish(127, {"name": "SpawnError", "value": f"cannot run: {exc}", "traceback": ""})
        except BaseException:
            self.jobs.pop(req_id, None)
            if job.timer is not None:
                job.timer.cancel()
            raise

    def _start_job(self, job: Job, message: dict[str, Any]) -> None:
        mode = message["mode"]
        if mode == "argv":
            job.run_argv([str(arg) for arg in message["argv"]])
        elif mode == "repl":
            kind = message["repl"]
            if kind not in KINDS:
                raise ValueError(f"unknown REPL kind {kind!r}")
            name = f"{kind}:{message.get('context') or 'default'}"
            context = self.contexts.get(name) or self.contexts.setdefault(name, Context(self, name, kind))
            context.submit(job, message["code"])
        elif mode == "python":
            job.run_python_fork(message["code"])
        elif mode == "recipe":
            job.run_recipe(message["code"], message["recipe"])
        else:
            raise ValueError(f"unknown exec mode {mode!r}")

    def op_cancel(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        job = self.jobs.get(message["target"])
        if job is not None:
            job.cancel()
        return {"cancelled": job is not None}

    def op_context_reset(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        name = f"{message['repl']}:{message.get('context') or 'default'}"
        context = self.contexts.get(name)
        if context is not None:
            context.kill()
        return {"reset": context is not None}

    def op_reset(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        """Make the sandbox as new for its next user: every process but the agent killed, every REPL
        context gone, the workspace and the scratch space (and the sandbox's /tmp, /dev/shm and
        /usr/local) emptied, the skeleton folders made again. Refused while executions run."""
        if self.jobs:
            raise RequestError("Busy", f"{len(self.jobs)} executions are running")
        for context in self.contexts.values():
            context.queue.clear()
            context.kill()
        self.contexts.clear()
        kill_tree([], since=0)  # since boot: every process of the sandbox but the agent
        mounts = files.mount_points()
        left = [path for root in (self.workspace, self.scratch, *self.wipe) for path in files.empty(root, mounts)]
        for path in self.skeleton:
            try:
                os.makedirs(path, exist_ok=True)
            except OSError:
                left.append(path)
        return {"reset": True, "left": left}

    def op_file_write(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        return files.write(self, message)

    def op_file_read(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        return files.read(self, message)

    def op_file_list(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        return files.listdir(self, message)

    def op_file_delete(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        return files.delete(self, message)

    def op_file_mkdir(self, req_id: int, message: dict[str, Any]) -> dict[str, Any]:
        return files.mkdir(self, message)

    def shutdown(self) -> None:
        for context in self.contexts.values():
            context.queue.clear()  # nothing new starts while we stop
            context.kill()
        for job in list(self.jobs.values()):
            kill_tree(job.pids)
        self.loop.running = False


def _take_channel() -> tuple[int, int]:
    """Move the channel off fds 0 and 1, so stray writes by anything else cannot corrupt it."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    return in_fd, out_fd


def _become_subreaper() -> None:
    """Orphans of user code must come back to the agent so a timeout can find and kill them."""
    if os.getpid() == 1:
        return
    import ctypes

    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def main() -> None:
    config = loads(sys.argv[1])
    in_fd, out_fd = _take_channel()
    _become_subreaper()
    for path in (config["scratch"], config["workspace"]):
        os.makedirs(path, exist_ok=True)
    agent = Agent(config, in_fd, out_fd)
    agent.send(
        {
            "id": 0,
            "ev": "hello",
            "v": PROTOCOL_VERSION,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
        }
    )
    if "AIRLOCK_EGRESS_SOCKET" in os.environ:  # after the hello: off the start's critical path
        import egress

        egress.start(agent.loop, os.environ)
    agent.loop.run()
    os._exit(0)


if __name__ == "__main__":
    main()
