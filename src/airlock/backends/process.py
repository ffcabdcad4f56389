"""The ``process`` backend: the agent runs as a plain child process. No isolation beyond rlimits.

For trusted, low-risk work (and as the floor the other rungs are measured against): the code runs
as the user running Airlock, sees the host's files and network. Each sandbox still gets its own
workspace and scratch directory, a clean environment, and its processes are found and killed at
the end by the marker every one of them carries in its environment.

No egress proxy (``environment.egress`` is None): the code has the host's network, so a proxy named
in ``HTTP_PROXY`` would only see the code that chose to use it; host allowlists are not enforced
here. Work that needs them runs on an isolating backend.

The services folder (``AIRLOCK_SERVICES``) is the host's ``ROOT/services`` itself; the code runs as
Airlock's own user, so nothing keeps it from writing there either.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from pathlib import Path

from airlock.agent.procs import kill_tree
from airlock.backends.base import AGENT_DIR, AgentLaunch, Availability, Backend, Environment, agent_argv
from airlock.models import Capability, SandboxLimits

__all__ = ["ProcessBackend", "ProcessEnvironment"]

_PR_SET_PDEATHSIG = 1


class ProcessEnvironment(Environment):
    backend: ProcessBackend

    @property
    def scratch(self) -> Path:
        return self.root / "scratch"

    @property
    def marker(self) -> str:
        return f"AIRLOCK_SANDBOX_ID={self.sandbox_id}"

    def launch(self) -> AgentLaunch:
        python = self.backend.python
        env = {
            **_toolchain_env(),
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.workspace),
            "TMPDIR": str(self.scratch),
            "LANG": "C.UTF-8",
            "AIRLOCK_SANDBOX_ID": self.sandbox_id,
            "AIRLOCK_SERVICES": self.services_path,
            **self.env,
        }
        config = self.agent_config(str(self.workspace), str(self.scratch))
        return AgentLaunch(agent_argv(python, str(AGENT_DIR), config), env, preexec=self._preexec)

    def _preexec(self) -> None:
        """rlimits, and the agent dies with Airlock (its children are found by their marker)."""
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.limits.max_file_bytes * 4,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    def kill_everything(self) -> None:
        roots = [self.process.pid] if self.process is not None and self.process.returncode is None else []
        kill_tree(roots)
        _kill_marked(f"\0{self.marker}\0".encode())


def _toolchain_env() -> dict[str, str]:
    """Toolchain managers (rustup, cargo) find their install through HOME; keep that working."""
    home = Path.home()
    env = {name: os.environ[name] for name in ("RUSTUP_HOME", "CARGO_HOME", "GOROOT") if name in os.environ}
    for name, folder in (("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")):
        if name not in env and (home / folder).is_dir():
            env[name] = str(home / folder)
    return env


def _kill_marked(needle: bytes) -> None:
    """SIGKILL every process whose initial environment carries ``needle``, until none is left."""
    me = os.getpid()
    for _ in range(50):
        found = False
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open(f"/proc/{name}/environ", "rb") as environ:
                    if needle not in b"\0" + environ.read():
                        continue
                os.kill(int(name), signal.SIGKILL)
                found = True
            except (OSError, ProcessLookupError):
                continue
        if not found:
            return


class ProcessBackend(Backend):
    name = "process"

    @property
    def python(self) -> str:
        return self.settings.process.python or sys.executable

    def probe(self, deep: bool) -> Availability:
        return Availability(True)

    def capabilities(self) -> frozenset[Capability]:
        return frozenset(
            {Capability.PYTHON_EXECUTION, Capability.BASH_EXECUTION, Capability.FILE_OPERATIONS, Capability.SNAPSHOTS}
        )

    def environment(self, sandbox_id: str, root: Path, limits: SandboxLimits, env: dict[str, str]) -> Environment:
        return ProcessEnvironment(self, sandbox_id, root, limits, env)

    def reap(self, sandbox_id: str) -> None:
        _kill_marked(f"\0AIRLOCK_SANDBOX_ID={sandbox_id}\0".encode())

    def prepare_existing(self, environment: Environment) -> None:
        super().prepare_existing(environment)
        assert isinstance(environment, ProcessEnvironment)
        environment.scratch.mkdir(exist_ok=True)

    def prepare(self, environment: Environment) -> None:
        super().prepare(environment)
        assert isinstance(environment, ProcessEnvironment)
        environment.scratch.mkdir()
