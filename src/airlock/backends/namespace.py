"""The ``namespace`` backend (the default): the agent runs under bubblewrap.

Every namespace is unshared (user, pid, net, ipc, uts, cgroup, mount); the system is mounted
read-only with a minimal ``/etc``; ``/proc`` is the sandbox's own, ``/tmp`` a private size-capped
tmpfs, ``/workspace`` the one writable host directory; the environment is cleared; there is no
network unless the limits allow it; bwrap dies with its parent. When Airlock runs as root, each
sandbox runs as its own unprivileged host uid, so even a mount we got wrong would not expose
root-owned files. Memory, pids and CPU are capped by cgroups where the host allows, else rlimits.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from airlock.backends.base import AgentLaunch, Availability, Backend, Environment, agent_argv, agent_bundle
from airlock.backends.cgroups import Cgroup, CgroupSupport, probe
from airlock.config import NamespaceConfig, Settings
from airlock.errors import SandboxStartError
from airlock.models import Capability, SandboxLimits

__all__ = ["NamespaceBackend", "NamespaceEnvironment"]

_AGENT_MOUNT = "/run/airlock/agent"
_WORKSPACE = "/workspace"
_SCRATCH = "/tmp/.airlock"
_INSIDE_UID = 1000
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "nsswitch.conf", "mime.types")
_NETWORK_ETC_FILES = ("resolv.conf", "hosts", "ssl", "ca-certificates", "gai.conf")
_INSTALL_HINT = "install it with: apt-get install bubblewrap"


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)  # close-on-exec; pass_fds hands it to bwrap alone
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class NamespaceEnvironment(Environment):
    backend: NamespaceBackend

    def __init__(
        self, backend: NamespaceBackend, sandbox_id: str, root: Path, limits: SandboxLimits, env: dict[str, str]
    ):
        super().__init__(backend, sandbox_id, root, limits, env)
        self.uid = backend.pick_uid()
        self.cgroup: Cgroup | None = None

    def oom_kills(self) -> int:
        return self.cgroup.oom_kills() if self.cgroup is not None else 0

    @property
    def owner(self) -> tuple[int, int] | None:
        return (self.uid, self.uid) if os.geteuid() == 0 else None

    def launch(self) -> AgentLaunch:
        config = self.backend.config
        fds: list[int] = []

        def data(name: str, content: bytes, dest: str) -> list[str]:
            fds.append(_memfd(name, content))
            return ["--ro-bind-data", str(fds[-1]), dest]

        args = [self.backend.bwrap, "--unshare-all", "--unshare-user"]
        if self.limits.network:
            args.append("--share-net")
        # No --new-session: setsid costs ~4 ms under sched_autogroup. The terminal it guards against
        # (TIOCSTI) is out of reach anyway: /dev/tty is /dev/null and no tty fd is passed in.
        args += ["--die-with-parent", "--as-pid-1", "--cap-drop", "ALL", "--hostname", "airlock", "--disable-userns"]
        args += ["--uid", str(_INSIDE_UID), "--gid", str(_INSIDE_UID)]
        args += self.backend.system_mounts(self.limits.network)
        passwd = f"root:x:0:0::/:/usr/sbin/nologin\nuser:x:{_INSIDE_UID}:{_INSIDE_UID}::{_WORKSPACE}:/bin/bash\n"
        group = f"root:x:0:\nuser:x:{_INSIDE_UID}:\n"
        args += data("passwd", passwd.encode(), "/etc/passwd") + data("group", group.encode(), "/etc/group")
        args += data("hostname", b"airlock\n", "/etc/hostname")
        tmpfs = str(self.limits.tmpfs_mb * 1024 * 1024)
        args += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/dev/null", "/dev/tty"]
        args += ["--size", tmpfs, "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
        args += ["--size", tmpfs, "--tmpfs", "/tmp"]
        args += ["--dir", "/run/airlock", "--dir", _AGENT_MOUNT, "--dir", f"{_AGENT_MOUNT}/__pycache__"]
        for name, content in self.backend.agent_files().items():
            args += data(name, content, f"{_AGENT_MOUNT}/{name}")
        args += ["--bind", str(self.workspace), _WORKSPACE, "--chdir", _WORKSPACE]
        # Everything but /tmp, /dev/shm (both size-capped) and /workspace is read-only, the root too.
        args += ["--remount-ro", "/"]
        # The environment is bwrap's own, passed through: not --setenv, whose values (secrets too)
        # every host user could read in bwrap's command line.
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": _WORKSPACE,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "USER": "user",
            "AIRLOCK_SANDBOX_ID": self.sandbox_id,
            **self.env,
        }
        agent = self.agent_config(_WORKSPACE, _SCRATCH, wipe=("/tmp", "/dev/shm"))
        args += ["--", *agent_argv(config.python, _AGENT_MOUNT, agent)]
        return AgentLaunch(
            argv=args,
            env=env,
            pass_fds=tuple(fds),
            preexec=self._preexec(),
            cleanup=fds,
        )

    def _preexec(self) -> Callable[[], None]:
        """Runs in the child before exec: join the cgroups, cap what rlimits cap, drop to the uid."""
        procs = self.cgroup.procs_files() if self.cgroup is not None else []
        limits = self.limits
        uid = self.uid if os.geteuid() == 0 else None

        def preexec() -> None:
            for path in procs:
                fd = os.open(path, os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if not procs:  # no cgroup: fall back to what rlimits can do
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * 4 << 20,) * 2)
                if uid is not None:  # per uid, and the uid is this sandbox's alone
                    resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids, limits.pids))
            if uid is not None:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)

        return preexec

    def setup(self) -> None:
        """Fresh cgroups for each run: limits we can enforce, we must (a failure fails the start)."""
        support = self.backend.cgroups
        if support.usable and self.cgroup is None:
            self.cgroup = Cgroup.create(support, f"airlock-{self.sandbox_id}", self.limits)

    def teardown(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def kill_everything(self) -> None:
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def remove(self) -> None:
        self.teardown()
        super().remove()
        self.backend.release_uid(self.uid)


class NamespaceBackend(Backend):
    name = "namespace"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.config: NamespaceConfig = settings.namespace
        self._cgroups: CgroupSupport | None = None
        self._sources: dict[str, bytes] = {}
        self._uids: set[int] = set()

    @property
    def cgroups(self) -> CgroupSupport:
        if self._cgroups is None:
            self._cgroups = probe() if self.config.cgroups else CgroupSupport(None, {}, "disabled in the settings")
        return self._cgroups

    def agent_files(self) -> dict[str, bytes]:
        """The agent's sources, and their bytecode when the sandbox's interpreter can use it."""
        if not self._sources:
            self._sources = agent_bundle(self.interpreter())
        return self._sources

    @property
    def python(self) -> str:
        return self.config.python

    @property
    def bwrap(self) -> str:
        return shutil.which(self.config.bwrap) or self.config.bwrap

    def pick_uid(self) -> int:
        """A host uid no other sandbox of this runtime has; random, so other runtimes rarely collide."""
        if len(self._uids) >= self.config.uid_count:
            raise SandboxStartError(f"all {self.config.uid_count} sandbox uids are in use")
        while True:
            uid = self.config.uid_base + secrets.randbelow(self.config.uid_count)
            if uid not in self._uids:
                self._uids.add(uid)
                return uid

    def release_uid(self, uid: int) -> None:
        self._uids.discard(uid)

    def probe(self, deep: bool) -> Availability:
        bwrap = shutil.which(self.config.bwrap)
        if bwrap is None:
            return Availability(False, f"{self.config.bwrap!r} (bubblewrap) is not installed", _INSTALL_HINT)
        if not os.access(self.config.python, os.X_OK):
            return Availability(
                False, f"the agent's interpreter {self.config.python} is missing", "apt-get install python3"
            )
        if not deep:
            return Availability(True)
        canary = [
            bwrap,
            "--unshare-all",
            "--die-with-parent",
            *self.system_mounts(False),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--",
            self.config.python,
            "-I",
            "-S",
            "-c",
            "pass",
        ]
        uid = self.config.uid_base
        try:
            result = subprocess.run(
                canary,
                capture_output=True,
                text=True,
                timeout=20,
                user=uid if os.geteuid() == 0 else None,
                group=uid if os.geteuid() == 0 else None,
                extra_groups=[] if os.geteuid() == 0 else None,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Availability(False, f"bubblewrap could not run: {exc}", _INSTALL_HINT)
        if result.returncode != 0:
            reason = result.stderr.strip() or f"exit code {result.returncode}"
            return Availability(
                False,
                f"bubblewrap cannot create namespaces here: {reason}",
                "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
                "user.max_user_namespaces > 0) or allow them in AppArmor",
            )
        return Availability(True)

    def capabilities(self) -> frozenset[Capability]:
        caps = {
            Capability.PYTHON_EXECUTION,
            Capability.BASH_EXECUTION,
            Capability.FILE_OPERATIONS,
            Capability.SNAPSHOTS,  # of files; no process memory (SnapshotInfo.memory says so)
        }
        if self.cgroups.usable:
            caps.add(Capability.RESOURCE_LIMITS)
        return frozenset(caps)

    def system_mounts(self, network: bool) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), f"/{name}"]
            elif host.is_dir():
                args += ["--ro-bind", str(host), f"/{name}"]
        for name in _ETC_FILES + (_NETWORK_ETC_FILES if network else ()):
            if (Path("/etc") / name).exists():
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for path in self.config.extra_ro_binds:
            args += ["--ro-bind", path, path]
        return args

    def environment(self, sandbox_id: str, root: Path, limits: SandboxLimits, env: dict[str, str]) -> Environment:
        return NamespaceEnvironment(self, sandbox_id, root, limits, env)

    def reap(self, sandbox_id: str) -> None:
        if self.cgroups.usable:
            name = f"airlock-{sandbox_id}"
            dirs = {controller: parent / name for controller, parent in self.cgroups.parents.items()}
            if any(path.exists() for path in dirs.values()):
                Cgroup(self.cgroups.version or 0, dirs).remove()

    def prepare_existing(self, environment: Environment) -> None:
        """The workspace is there: hand it to the new uid (its cgroups come with each start)."""
        assert isinstance(environment, NamespaceEnvironment)
        self.agent_files()
        self.reap(environment.sandbox_id)
        if os.geteuid() == 0:
            for path in [environment.root, *environment.root.rglob("*")]:
                os.lchown(path, environment.uid, environment.uid)

    def prepare(self, environment: Environment) -> None:
        """Directories, ownership and cgroups (in a thread: all of it blocks)."""
        assert isinstance(environment, NamespaceEnvironment)
        self.agent_files()  # probed and compiled once per backend, off the event loop
        super().prepare(environment)
        if os.geteuid() == 0:
            os.chown(environment.root, environment.uid, environment.uid)
            os.chown(environment.workspace, environment.uid, environment.uid)
