"""The contract every backend fills: create an environment, start the agent in it, hand back a
channel to that agent, stop it, destroy it, and say truthfully what it can do.

The agent speaks the same protocol everywhere, so exec, files, REPLs, output caps and timeouts are
written once (in ``airlock.agent``) and every backend has them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import py_compile
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airlock.channel import AgentChannel
from airlock.config import Settings
from airlock.errors import ControlTimeout, SandboxDied, SandboxStartError
from airlock.models import Capability, SandboxLimits

if TYPE_CHECKING:  # imported where it is made (namespace.py): backends sit below policy
    from airlock.policy.egress import EgressProxy

__all__ = [
    "AGENT_DIR",
    "AGENT_FILES",
    "OWNER_FILE",
    "SERVICES_DIR",
    "AgentLaunch",
    "Availability",
    "Backend",
    "Environment",
    "Interpreter",
    "agent_argv",
    "agent_bundle",
]

logger = logging.getLogger(__name__)

#: In each sandbox's host directory (out of the sandbox's reach): the pid of the process that made it,
#: and its backend.
OWNER_FILE = "owner"
#: In each sandbox's host directory: the folder of the host's services to the sandbox (Unix sockets,
#: such as a model bridge's), which the sandbox sees read-only (``Environment.services_path``).
SERVICES_DIR = "services"

AGENT_DIR = Path(__file__).resolve().parent.parent / "agent"
#: The agent's modules; all stdlib only. Backends place them inside the sandbox.
AGENT_FILES = (
    "main.py",
    "protocol.py",
    "loop.py",
    "jobs.py",
    "output.py",
    "procs.py",
    "pyrun.py",
    "repl.py",
    "files.py",
    "egress.py",
    "airlock_llm.py",
)


@dataclass(frozen=True)
class Interpreter:
    """What the agent's Python is: its bytecode tag, its version ("3.11"), and the sys.path its
    ``site`` would add."""

    python: str
    cache_tag: str = ""
    site_path: tuple[str, ...] = ()
    version: str = ""

    @classmethod
    def probe(cls, python: str) -> Interpreter:
        script = (
            "import sys; print(sys.implementation.cache_tag); print('%d.%d' % sys.version_info[:2]); "
            "print(*sys.path, sep='\\n')"
        )
        try:
            out = subprocess.run([python, "-I", "-c", script], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            return cls(python)
        lines = out.splitlines()
        if len(lines) < 2:
            return cls(python)
        tag, version, *path = lines
        site = tuple(p for p in path if p.endswith(("site-packages", "dist-packages")))
        return cls(python, tag, site, version)


def agent_bundle(interpreter: Interpreter) -> dict[str, bytes]:
    """The agent's files by relative path: sources, plus bytecode if the interpreter is our version.

    The bytecode is "unchecked hash" .pyc, valid whatever the files' mtimes inside the sandbox;
    without it the agent would compile itself at every start (~3 ms).
    """
    bundle = {name: (AGENT_DIR / name).read_bytes() for name in AGENT_FILES}
    tag = interpreter.cache_tag
    if tag != sys.implementation.cache_tag:
        return bundle
    with tempfile.TemporaryDirectory() as tmp:
        for name in AGENT_FILES:
            target = Path(tmp) / f"{name[:-3]}.{tag}.pyc"
            py_compile.compile(
                str(AGENT_DIR / name),
                cfile=str(target),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            bundle[f"__pycache__/{target.name}"] = target.read_bytes()
    return bundle


def agent_argv(python: str, agent_dir: str, config: str) -> list[str]:
    """The agent's command line. ``main`` is imported, not run as a script, so its bytecode is used."""
    boot = f"import sys; sys.path.insert(0, {agent_dir!r}); import main; main.main()"
    return [python, "-I", "-S", "-c", boot, config]


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""
    hint: str = ""


@dataclass
class AgentLaunch:
    """How to start the agent: the command, its environment and what the child does before exec."""

    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()
    preexec: Callable[[], None] | None = None
    cleanup: list[int] = field(default_factory=list)


class Environment(ABC):
    """One sandbox on one backend: its directory on the host and, while started, its agent."""

    def __init__(self, backend: Backend, sandbox_id: str, root: Path, limits: SandboxLimits, env: dict[str, str]):
        self.backend = backend
        self.sandbox_id = sandbox_id
        self.root = root
        self.limits = limits
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.channel: AgentChannel | None = None
        self.hello: dict[str, Any] = {}
        #: Milliseconds of the last start's phases: ``spawn`` (set-up and launch), ``agent_ready``.
        self.boot_ms: dict[str, float] = {}
        #: The sandbox's way out when it has no network: its egress proxy, listening while the
        #: sandbox runs. The runtime sets its ``allow_hosts`` (empty: everything refused) and its
        #: ``on_attempt`` (the audit log). None where no proxy can be enforced: the ``process``
        #: backend (its code has the host's network) and sandboxes whose ``limits.network`` gives
        #: them the full network.
        self.egress: EgressProxy | None = None

    @property
    def owner(self) -> tuple[int, int] | None:
        """Who owns the sandbox's files on the host, when not the process running Airlock."""
        return None

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def services_dir(self) -> Path:
        """The host's services to this sandbox: a folder of Unix sockets that its code may connect
        to (when their owner and mode let it) but not write; never in a snapshot."""
        return self.root / SERVICES_DIR

    @property
    def services_path(self) -> str:
        """Where the sandbox's code finds ``services_dir`` (also in its ``AIRLOCK_SERVICES``)."""
        return str(self.services_dir)

    def reset_services(self) -> None:
        """Make the services folder, empty, the Airlock process's and 0755 (sync). Its entries go,
        never the folder itself: a running sandbox has it bound, a new folder would not be seen."""
        path = self.services_dir
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        path.mkdir(mode=0o755, exist_ok=True)
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        if path.stat().st_uid != os.geteuid():  # a reopen gives the whole sandbox directory to its uid
            os.chown(path, os.geteuid(), os.getegid())
        path.chmod(0o755)

    def snapshot_trees(self) -> dict[str, Path]:
        """What a snapshot of this sandbox covers: every host directory its code can write, by name."""
        return {"workspace": self.workspace}

    @property
    def alive(self) -> bool:
        return (
            self.process is not None
            and self.process.returncode is None
            and not (self.channel is None or self.channel.closed)
        )

    def site_path(self) -> list[str]:
        """The site-packages folders the agent puts on Python code's sys.path, in order."""
        return list(self.backend.interpreter().site_path)

    def agent_config(
        self, workspace: str, scratch: str, wipe: tuple[str, ...] = (), skeleton: tuple[str, ...] = ()
    ) -> str:
        """The agent's settings; ``wipe``: more folders a reset empties (the sandbox's own /tmp);
        ``skeleton``: folders a reset makes again after that (as a new sandbox has them)."""
        return json.dumps(
            {
                "workspace": workspace,
                "scratch": scratch,
                "wipe": list(wipe),
                "skeleton": list(skeleton),
                "python_path": self.site_path(),
                "sandbox_id": self.sandbox_id,
                "spill_cap": self.limits.spill_bytes,
                "max_file_bytes": self.limits.max_file_bytes,
            }
        )

    @abstractmethod
    def launch(self) -> AgentLaunch:
        """The command that starts the agent in this environment."""

    @abstractmethod
    def kill_everything(self) -> None:
        """Kill every process of this sandbox (sync; called in a thread)."""

    def oom_kills(self) -> int:
        """How many processes the kernel killed for lack of memory so far (0 where unknown)."""
        return 0

    def setup(self) -> None:  # noqa: B027 - a hook; most backends need nothing here
        """Before each start (sync, in a thread): what only a running sandbox holds, e.g. cgroups."""

    def teardown(self) -> None:  # noqa: B027 - a hook, like setup
        """After each stop (sync, in a thread): release what ``setup`` took."""

    async def start(self, timeout: float) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.setup)
        except OSError as exc:
            raise SandboxStartError(f"cannot set up sandbox {self.sandbox_id}: {exc}") from exc
        try:
            await self._spawn()
        except BaseException:
            if self.egress is not None:
                await self.egress.aclose()
            raise
        assert self.process is not None
        assert self.process.stdout is not None
        assert self.process.stdin is not None
        self.channel = AgentChannel(self.process.stdout, self.process.stdin, self.sandbox_id)
        spawned = time.perf_counter()
        try:
            self.hello = await self.channel.hello(timeout)
        except (SandboxDied, ControlTimeout, SandboxStartError) as exc:
            await self.stop()
            detail = self.agent_log_tail()
            deep = await asyncio.to_thread(self.backend.availability, deep=True)
            if not deep.ok:
                detail += f"\n{deep.reason}" + (f" ({deep.hint})" if deep.hint else "")
            raise SandboxStartError(
                f"sandbox {self.sandbox_id} did not start: {exc}" + (f"\n{detail}" if detail else "")
            ) from exc
        self.boot_ms = {"spawn": (spawned - started) * 1000, "agent_ready": (time.perf_counter() - spawned) * 1000}
        return self.hello

    async def _spawn(self) -> None:
        """Start the egress proxy (the sandbox's launch binds its socket), then the agent."""
        if self.egress is not None:
            try:
                await self.egress.start()
            except OSError as exc:
                raise SandboxStartError(f"cannot start the egress proxy of sandbox {self.sandbox_id}: {exc}") from exc
        launch = self.launch()
        log = os.open(self.root / "agent.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            self.process = await asyncio.create_subprocess_exec(
                *launch.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=launch.env,
                pass_fds=launch.pass_fds,
                preexec_fn=launch.preexec,
                process_group=0,
            )
        except OSError as exc:
            raise SandboxStartError(f"cannot start {launch.argv[0]}: {exc}") from exc
        finally:
            os.close(log)
            for fd in launch.cleanup:
                os.close(fd)

    def agent_log_tail(self, limit: int = 2000) -> str:
        try:
            return (self.root / "agent.log").read_text(errors="replace")[-limit:].strip()
        except OSError:
            return ""

    async def stop(self) -> None:
        """Kill the agent and everything the sandbox runs, close its egress proxy (and every
        tunnel through it); the workspace stays."""
        try:
            if self.channel is not None:
                await self.channel.aclose()
        finally:
            self.channel = None
            try:
                await asyncio.to_thread(self.kill_everything)
                if self.process is not None:
                    if self.process.returncode is None:
                        # os.kill, not Popen.kill: that would poll (reap) the child behind asyncio's back.
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(self.process.pid, signal.SIGKILL)
                    await self.process.wait()
                await asyncio.to_thread(self.teardown)
            finally:
                if self.egress is not None:
                    await self.egress.aclose()

    async def destroy(self) -> None:
        await self.stop()
        await asyncio.to_thread(self.remove)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class Backend(ABC):
    """One rung of the isolation ladder."""

    name: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._availability: dict[bool, Availability] = {}
        self._interpreter: Interpreter | None = None

    @property
    @abstractmethod
    def python(self) -> str:
        """The interpreter the agent runs on."""

    def interpreter(self) -> Interpreter:
        if self._interpreter is None:
            self._interpreter = Interpreter.probe(self.python)
        return self._interpreter

    def availability(self, *, deep: bool = False) -> Availability:
        """Whether this host can run the backend, and if not why and what to install (cached).

        The quick check looks for what must be installed; ``deep`` also starts a canary sandbox.
        """
        if deep not in self._availability:
            self._availability[deep] = self.probe(deep)
        return self._availability[deep]

    @abstractmethod
    def probe(self, deep: bool) -> Availability: ...

    @abstractmethod
    def capabilities(self) -> frozenset[Capability]: ...

    @abstractmethod
    def environment(self, sandbox_id: str, root: Path, limits: SandboxLimits, env: dict[str, str]) -> Environment:
        """A new environment; ``prepare`` makes its directories and limits."""

    async def create(self, sandbox_id: str, limits: SandboxLimits, env: dict[str, str]) -> Environment:
        root = self.settings.sandboxes_dir / sandbox_id
        environment = self.environment(sandbox_id, root, limits, env)
        try:
            await asyncio.to_thread(self.prepare, environment)
        except OSError as exc:
            await asyncio.to_thread(environment.remove)
            raise SandboxStartError(f"cannot prepare sandbox {sandbox_id} in {root}: {exc}") from exc
        return environment

    async def reopen(self, sandbox_id: str, limits: SandboxLimits, env: dict[str, str]) -> Environment:
        """An environment for a sandbox whose workspace outlived its owner (a server restart)."""
        root = self.settings.sandboxes_dir / sandbox_id
        environment = self.environment(sandbox_id, root, limits, env)
        if not await asyncio.to_thread(environment.workspace.is_dir):
            raise SandboxStartError(f"the workspace of sandbox {sandbox_id} is gone")
        try:
            await asyncio.to_thread(self.prepare_existing, environment)
        except OSError as exc:
            raise SandboxStartError(f"cannot reopen sandbox {sandbox_id}: {exc}") from exc
        return environment

    def prepare_existing(self, environment: Environment) -> None:
        """Like ``prepare``, for a workspace that is already there (sync); no socket of a service
        of the last owner is left."""
        self.interpreter()
        environment.reset_services()

    @abstractmethod
    def reap(self, sandbox_id: str) -> None:
        """Kill whatever a sandbox still runs after its owner died, and free its limits (sync)."""

    def prepare(self, environment: Environment) -> None:
        self.interpreter()  # probed once per backend, here in a thread rather than on the event loop
        environment.root.parent.mkdir(parents=True, exist_ok=True, mode=0o711)
        environment.root.mkdir(mode=0o700)
        # Who made it, so a later runtime can tell a sandbox whose maker died (see Runtime.reap_orphans).
        (environment.root / OWNER_FILE).write_text(f"{os.getpid()} {self.name}\n")
        environment.workspace.mkdir()
        environment.reset_services()
