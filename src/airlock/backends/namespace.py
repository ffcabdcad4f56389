"""The ``namespace`` backend (the default): the agent runs under bubblewrap.

Every namespace is unshared (user, pid, net, ipc, uts, cgroup, mount); the system is mounted
read-only with a minimal ``/etc``; ``/proc`` is the sandbox's own; the environment is cleared; there
is no network unless the limits allow it; bwrap dies with its parent. When Airlock runs as root, each
sandbox runs as its own unprivileged host uid, so even a mount we got wrong would not expose
root-owned files. Memory, pids and CPU are capped by cgroups where the host allows, else rlimits.

What the sandbox can write, all of it in its host directory and in its snapshots:

- ``/workspace``: ``ROOT/workspace``.
- ``/usr/local``: ``ROOT/usr-local``, the sandbox's own (the host's is hidden), where ``pip install``
  and ``make install`` put software. It starts with ``bin`` and the ``dist-packages`` folder that
  Debian's Python puts on ``sys.path``.
- ``/tmp``: capped at ``limits.tmpfs_mb``. As root, a tmpfs that Airlock mounts on the host at
  ``ROOT/tmpfs`` (the sandbox sees its ``tmp`` folder), so snapshots cover it. It outlives the
  sandbox's processes: a stop and start (a restart, not a reboot; E2B's pause and resume keep /tmp
  too) and a graceful server restart keep its content, and a restore done while the sandbox is
  stopped writes into it. A host reboot, or a server that died (whose sandboxes are reaped), loses
  it, as a reboot loses any /tmp. Without root nothing can be mounted: /tmp is then bwrap's own
  tmpfs, gone with the sandbox's processes, and not in snapshots.

``/dev/shm`` is bwrap's own tmpfs, capped the same, and never in snapshots: it is shared memory,
like a process's, which snapshots do not hold.

Network: none but loopback, unless ``limits.network`` shares the host's (an operator's choice). The
way out is the sandbox's egress proxy (``airlock.policy.egress``), which refuses every host not on
its list: its Unix socket ``ROOT/egress.sock``, made before each start, is bound at
``/run/airlock/egress.sock``; the agent forwards 127.0.0.1:3128 to it, and ``HTTP_PROXY`` and
``HTTPS_PROXY`` (and their lower-case forms) name that address. The host's CA certificates are
there, for HTTPS through the proxy.

Services of the host (a model bridge's Unix socket, ``airlock.rlm.bridge``): the folder
``ROOT/services``, the Airlock process's, is bound read-only at ``/run/airlock/services``
(``AIRLOCK_SERVICES``). A bound folder, not files: a socket made there while the sandbox runs is seen
at once; the code can connect to one its uid may use, but can create nothing there.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import logging
import os
import resource
import secrets
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from airlock.backends.base import AgentLaunch, Availability, Backend, Environment, agent_argv, agent_bundle
from airlock.backends.cgroups import Cgroup, CgroupSupport, probe
from airlock.config import NamespaceConfig, Settings
from airlock.errors import SandboxError, SandboxStartError
from airlock.models import Capability, SandboxLimits

__all__ = ["NamespaceBackend", "NamespaceEnvironment"]

logger = logging.getLogger(__name__)

_AGENT_MOUNT = "/run/airlock/agent"
_WORKSPACE = "/workspace"
_TMP = "/tmp"
_SCRATCH = "/tmp/.airlock"
_LOCAL = "/usr/local"
_TMPFS_DIR = "tmpfs"  # in the sandbox's host directory: the mount point of its /tmp's tmpfs
#: While the sandbox is stopped its tmpfs may hold twice its cap: a restore stages the snapshot's
#: files beside the tree (on the same filesystem, so they can be renamed into place) before it
#: deletes what they replace. Each start sets the cap back (and refuses a /tmp that holds more).
_STOPPED_TMP_FACTOR = 2
# mount(2) and umount2(2) flags, from <linux/mount.h>
_MS_NOSUID, _MS_NODEV, _MS_REMOUNT = 0x2, 0x4, 0x20
_MNT_DETACH, _UMOUNT_NOFOLLOW = 0x2, 0x8
_INSIDE_UID = 1000
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "nsswitch.conf", "mime.types")
_NETWORK_ETC_FILES = ("resolv.conf", "hosts", "ssl", "ca-certificates", "gai.conf")
_INSTALL_HINT = "install it with: apt-get install bubblewrap"
#: What HTTPS through the egress proxy needs from /etc: the CA certificates and OpenSSL's settings
#: (not /etc/ssl/private, the host's keys).
_CA_ETC_FILES = ("ssl/certs", "ssl/openssl.cnf")
_EGRESS_SOCKET = "/run/airlock/egress.sock"
_SERVICES = "/run/airlock/services"
_EGRESS_PORT = 3128
_EGRESS_URL = f"http://127.0.0.1:{_EGRESS_PORT}"


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)  # close-on-exec; pass_fds hands it to bwrap alone
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, for mount(2): a syscall costs ~20 us, spawning ``mount`` ~1.5 ms."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
    libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
    return libc


def _mount_tmpfs(target: Path, size_mb: int, owner: int | None = None) -> None:
    """Mount a tmpfs of ``size_mb`` MiB at ``target``, its root 0700 and ``owner``'s; without an
    owner, resize the one mounted there."""
    flags, options = _MS_NOSUID | _MS_NODEV, f"size={size_mb << 20}"
    if owner is None:
        flags |= _MS_REMOUNT
    else:
        options += f",mode=0700,uid={owner},gid={owner}"
    if _libc().mount(b"airlock", os.fsencode(target), b"tmpfs", flags, options.encode()) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def _unmount(target: Path) -> None:
    """Detach the tmpfs at ``target`` (its memory goes once nothing uses it); none there is fine."""
    if _libc().umount2(os.fsencode(target), _MNT_DETACH | _UMOUNT_NOFOLLOW) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):  # not a mount point; no such directory
            raise OSError(code, os.strerror(code), str(target))


def _chown_tree(root: Path, uid: int, devices: set[int]) -> None:
    """Give everything under ``root`` to ``uid``: never through a link, never into a filesystem
    other than ``devices`` (the sandbox directory's and its tmpfs)."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.lchown(dirpath, uid, uid)
        for name in filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)
        inside = []
        for name in dirnames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):  # a link to a directory: the link is ours, not its target
                os.lchown(path, uid, uid)
            elif st.st_dev in devices:
                inside.append(name)
        dirnames[:] = inside


class NamespaceEnvironment(Environment):
    backend: NamespaceBackend

    def __init__(
        self, backend: NamespaceBackend, sandbox_id: str, root: Path, limits: SandboxLimits, env: dict[str, str]
    ):
        super().__init__(backend, sandbox_id, root, limits, env)
        self.uid = backend.pick_uid()
        self.cgroup: Cgroup | None = None
        #: Whether /tmp is a tmpfs Airlock mounts on the host (which takes root), so snapshots hold it.
        self.host_tmp = os.geteuid() == 0
        self.tmpfs = root / _TMPFS_DIR
        #: The sandbox's /tmp on the host: a folder in the tmpfs, not its root, so that a restore's
        #: staging folder (made beside the tree) is on the tree's filesystem.
        self.tmp = self.tmpfs / "tmp"
        self.usr_local = root / "usr-local"
        if not limits.network:
            from airlock.policy.egress import EgressProxy  # here: backends sit below policy

            self.egress = EgressProxy(sandbox_id, root / "egress.sock", owner=self.owner)

    @property
    def services_path(self) -> str:
        return _SERVICES

    def snapshot_trees(self) -> dict[str, Path]:
        trees = {"workspace": self.workspace}
        if self.host_tmp:  # else /tmp is bwrap's tmpfs, out of the host's reach: not captured
            trees["tmp"] = self.tmp
        trees["local"] = self.usr_local
        return trees

    def site_path(self) -> list[str]:
        """The interpreter's site-packages, the sandbox's own /usr/local one first (as Debian's
        ``site`` orders them), whether or not the host has that folder."""
        local = self.backend.local_site_packages()
        return [*local, *(path for path in super().site_path() if path not in local)]

    def size_tmp(self, size_mb: int) -> None:
        """Mount the sandbox's tmpfs with ``size_mb`` MiB, or resize it if it is mounted. A host
        reboot or a reap unmounts it: it comes back empty."""
        if os.path.ismount(self.tmpfs):
            _mount_tmpfs(self.tmpfs, size_mb)
            return
        self.tmpfs.mkdir(mode=0o700, exist_ok=True)
        _mount_tmpfs(self.tmpfs, size_mb, owner=self.uid)
        self.tmp.mkdir()
        os.chown(self.tmp, self.uid, self.uid)
        os.chmod(self.tmp, 0o1777)  # noqa: S103 - a /tmp: sticky, anyone may write

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
        args += self.backend.system_mounts(self.limits.network, usr_local=self.usr_local)
        for name in _CA_ETC_FILES if self.egress is not None else ():
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        passwd = f"root:x:0:0::/:/usr/sbin/nologin\nuser:x:{_INSIDE_UID}:{_INSIDE_UID}::{_WORKSPACE}:/bin/bash\n"
        group = f"root:x:0:\nuser:x:{_INSIDE_UID}:\n"
        args += data("passwd", passwd.encode(), "/etc/passwd") + data("group", group.encode(), "/etc/group")
        args += data("hostname", b"airlock\n", "/etc/hostname")
        tmpfs = str(self.limits.tmpfs_mb * 1024 * 1024)
        args += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/dev/null", "/dev/tty"]
        # /dev/shm: shared memory, as private as a process's memory and, like it, not in snapshots.
        args += ["--size", tmpfs, "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
        if self.host_tmp:  # the host tmpfs, capped (see size_tmp) and in snapshots
            args += ["--bind", str(self.tmp), _TMP]
        else:  # without root Airlock cannot mount one: bwrap's own, gone with the sandbox
            args += ["--size", tmpfs, "--tmpfs", _TMP]
        args += ["--dir", "/run/airlock", "--dir", _AGENT_MOUNT, "--dir", f"{_AGENT_MOUNT}/__pycache__"]
        for name, content in self.backend.agent_files().items():
            args += data(name, content, f"{_AGENT_MOUNT}/{name}")
        if self.egress is not None:
            args += ["--ro-bind", str(self.egress.path), _EGRESS_SOCKET]
        args += ["--ro-bind", str(self.services_dir), _SERVICES]
        args += ["--bind", str(self.workspace), _WORKSPACE, "--chdir", _WORKSPACE]
        # Everything but /tmp, /dev/shm (both size-capped), /usr/local and /workspace is read-only.
        args += ["--remount-ro", "/"]
        # The environment is bwrap's own, passed through: not --setenv, whose values (secrets too)
        # every host user could read in bwrap's command line.
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": _WORKSPACE,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "USER": "user",
            # Debian marks its Python "externally managed", so pip refuses to install. Here the
            # system is read-only and /usr/local, where pip installs, is the sandbox's own: an
            # install there breaks nothing of the host's.
            "PIP_BREAK_SYSTEM_PACKAGES": "1",
            "AIRLOCK_SANDBOX_ID": self.sandbox_id,
            "AIRLOCK_SERVICES": _SERVICES,
            **(self.egress_env() if self.egress is not None else {}),
            **self.env,
        }
        wipe = (_TMP, "/dev/shm", _LOCAL)
        agent = self.agent_config(_WORKSPACE, _SCRATCH, wipe=wipe, skeleton=self.backend.local_skeleton())
        args += ["--", *agent_argv(config.python, _AGENT_MOUNT, agent)]
        return AgentLaunch(
            argv=args,
            env=env,
            pass_fds=tuple(fds),
            preexec=self._preexec(),
            cleanup=fds,
        )

    @staticmethod
    def egress_env() -> dict[str, str]:
        """For the agent (which forwards the proxy onto loopback) and, inherited, every process."""
        env = {"AIRLOCK_EGRESS_SOCKET": _EGRESS_SOCKET, "AIRLOCK_EGRESS_PORT": str(_EGRESS_PORT)}
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            env[name] = env[name.lower()] = _EGRESS_URL
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1"
        return env

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
        """/tmp at its cap and fresh cgroups for each run: limits we can enforce, we must (a failure
        fails the start)."""
        try:
            if self.host_tmp:
                self.size_tmp(self.limits.tmpfs_mb)
        except OSError as exc:  # EINVAL: it holds more than that
            if exc.errno != errno.EINVAL:
                raise
            raise SandboxStartError(
                f"the /tmp of sandbox {self.sandbox_id} holds more than its limit of {self.limits.tmpfs_mb} MiB "
                "(tmpfs_mb): raise the limit, or restore a snapshot that fits"
            ) from exc
        support = self.backend.cgroups
        if support.usable and self.cgroup is None:
            self.cgroup = Cgroup.create(support, f"airlock-{self.sandbox_id}", self.limits)

    def teardown(self) -> None:
        self._remove_cgroup()
        if self.host_tmp and os.path.ismount(self.tmpfs):
            try:  # room for a restore's staging (see _STOPPED_TMP_FACTOR)
                _mount_tmpfs(self.tmpfs, self.limits.tmpfs_mb * _STOPPED_TMP_FACTOR)
            except OSError as exc:
                logger.warning("sandbox %s: cannot resize its /tmp: %s", self.sandbox_id, exc)

    def _remove_cgroup(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def kill_everything(self) -> None:
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def remove(self) -> None:
        self._remove_cgroup()
        if self.host_tmp:
            try:
                _unmount(self.tmpfs)
            except OSError as exc:  # deleting the directory would empty the tmpfs and fail on it
                logger.warning("sandbox %s: cannot unmount its /tmp, its directory stays: %s", self.sandbox_id, exc)
                return
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

    def system_mounts(self, network: bool, usr_local: Path | None = None) -> list[str]:
        """The read-only system; ``usr_local``: the host folder that is the sandbox's /usr/local."""
        args = ["--ro-bind", "/usr", "/usr"]
        if usr_local is not None and os.path.isdir(_LOCAL):
            # Hides the host's /usr/local (an admin's tools are none of the sandbox's business).
            # Before the extra binds, so one under /usr/local is not hidden by it.
            args += ["--bind", str(usr_local), _LOCAL]
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

    def local_site_packages(self) -> list[str]:
        """The folder Debian's Python puts first on sys.path (if it exists) and pip installs into."""
        version = self.interpreter().version
        return [f"{_LOCAL}/lib/python{version}/dist-packages"] if version else []

    def local_skeleton(self) -> tuple[str, ...]:
        """What a new sandbox's /usr/local holds (paths inside the sandbox)."""
        return (f"{_LOCAL}/bin", *self.local_site_packages())

    def environment(self, sandbox_id: str, root: Path, limits: SandboxLimits, env: dict[str, str]) -> Environment:
        return NamespaceEnvironment(self, sandbox_id, root, limits, env)

    def reap(self, sandbox_id: str) -> None:
        """Kill what it runs and free its cgroups, then unmount its tmpfs: whoever reaps may delete
        the sandbox's directory next (its /tmp is lost, as in a reboot)."""
        self._reap_cgroups(sandbox_id)
        if os.geteuid() == 0:
            try:
                _unmount(self.settings.sandboxes_dir / sandbox_id / _TMPFS_DIR)
            except OSError as exc:
                raise SandboxError(f"cannot unmount the /tmp of sandbox {sandbox_id}: {exc}") from exc

    def _reap_cgroups(self, sandbox_id: str) -> None:
        if self.cgroups.usable:
            name = f"airlock-{sandbox_id}"
            dirs = {controller: parent / name for controller, parent in self.cgroups.parents.items()}
            if any(path.exists() for path in dirs.values()):
                Cgroup(self.cgroups.version or 0, dirs).remove()

    def prepare_existing(self, environment: Environment) -> None:
        """The sandbox's directory is there: its tmpfs mounted again if a reboot took it, and all of
        it handed to the new uid (its cgroups come with each start)."""
        assert isinstance(environment, NamespaceEnvironment)
        self.agent_files()
        self._reap_cgroups(environment.sandbox_id)  # not reap: that would unmount the /tmp we keep
        if not environment.usr_local.is_dir():  # made by an Airlock from before /usr/local was the sandbox's
            self._make_usr_local(environment)
        if environment.host_tmp:
            environment.size_tmp(environment.limits.tmpfs_mb * _STOPPED_TMP_FACTOR)
            devices = {environment.root.lstat().st_dev, environment.tmpfs.lstat().st_dev}
            _chown_tree(environment.root, environment.uid, devices)
        environment.reset_services()  # after the chown: the folder is Airlock's, not the sandbox's

    def prepare(self, environment: Environment) -> None:
        """Directories, ownership and /tmp's tmpfs (in a thread: all of it blocks)."""
        assert isinstance(environment, NamespaceEnvironment)
        self.agent_files()  # probed and compiled once per backend, off the event loop
        super().prepare(environment)
        if os.geteuid() == 0:
            os.chown(environment.root, environment.uid, environment.uid)
            os.chown(environment.workspace, environment.uid, environment.uid)
        self._make_usr_local(environment)
        if environment.host_tmp:
            environment.size_tmp(environment.limits.tmpfs_mb * _STOPPED_TMP_FACTOR)

    def _make_usr_local(self, environment: NamespaceEnvironment) -> None:
        """The sandbox's /usr/local and its skeleton, the sandbox uid's."""
        made = [environment.usr_local]
        environment.usr_local.mkdir(mode=0o755)
        for inside in self.local_skeleton():
            path = environment.usr_local
            for part in Path(inside).relative_to(_LOCAL).parts:
                path = path / part
                if not path.is_dir():
                    path.mkdir(mode=0o755)
                    made.append(path)
        if os.geteuid() == 0:
            for path in made:
                os.chown(path, environment.uid, environment.uid)
