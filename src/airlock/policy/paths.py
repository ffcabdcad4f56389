"""What a path inside a sandbox is, as far as risk goes: the workspace, or something worth guarding.

Every analyzer asks the same question of the paths code writes, deletes or reads, so they agree::

    >>> kind("../../etc/shadow")   # relative paths start in the workspace; ``..`` is followed
    <Place.CREDENTIAL: 'credential'>
"""

from __future__ import annotations

import posixpath
import re
from enum import StrEnum

__all__ = ["SYSTEM_DIRS", "WORKSPACE", "Place", "kind", "normalize"]

WORKSPACE = "/workspace"


class Place(StrEnum):
    WORKSPACE = "workspace"  #: the workspace, /tmp, /dev/null: the code's own
    ROOT = "root"  #: / itself, or every file in it
    DEVICE = "device"  #: a block device: writing it destroys a disk
    CREDENTIAL = "credential"  #: password hashes, private keys, cloud and registry tokens
    PERSISTENCE = "persistence"  #: what runs again later: cron, systemd, shell rc files, authorized_keys
    PRIVILEGE = "privilege"  #: sudoers, passwd, PAM, ld.so.preload
    HISTORY = "history"  #: shell and REPL history
    LOG = "log"  #: system logs
    KERNEL = "kernel"  #: /proc/sys, /sys, sysrq, kernel modules, /boot
    SYSTEM = "system"  #: anything else of the system: /etc, /usr, /bin, /var, ...
    HOME = "home"  #: a home directory other than the workspace (``~`` itself, /root, /home/x)
    OTHER = "other"  #: outside the workspace, nothing known about it


_OWN = ("/workspace", "/tmp", "/var/tmp", "/dev/shm", "/dev/null", "/dev/stdout", "/dev/stderr", "/dev/zero")
_DEVICE = re.compile(r"/dev/(sd|hd|vd|xvd|nvme|mmcblk|md|dm-|loop|mapper/|disk/|mem$|kmem$|port$)")
_BY_RULE: tuple[tuple[Place, re.Pattern[str]], ...] = tuple(
    (place, re.compile(rule))
    for place, rule in (
        (
            Place.CREDENTIAL,
            r"^/etc/(g?shadow|security/opasswd)|/\.ssh/id_|/\.ssh/.*key|/\.aws/|/\.config/gcloud|"
            r"/\.kube/config|/\.docker/config|/\.netrc$|/\.git-credentials$|/\.pgpass$|/\.gnupg/|"
            r"^/proc/[^/]+/(environ|mem|maps)$|/\.npmrc$|/\.pypirc$",
        ),
        (
            Place.PERSISTENCE,
            r"/\.ssh/authorized_keys|^/etc/cron|^/var/spool/cron|^/etc/systemd/|/\.config/systemd/|"
            r"^/(usr/)?lib/systemd/|^/etc/init\.d/|^/etc/rc\.local|^/etc/profile|^/etc/bash\.bashrc|"
            r"/\.(bashrc|bash_profile|bash_login|profile|zshrc|zprofile|bash_logout)$|/\.config/autostart/|^/etc/update-motd",
        ),
        (Place.PRIVILEGE, r"^/etc/(sudoers|passwd|group|pam\.d/|ld\.so\.preload|ld\.so\.conf|security/)"),
        (Place.HISTORY, r"/\.(bash_|zsh_|sh_|python_|node_repl_|mysql_|psql_)?history$|/\.lesshst$|/\.viminfo$"),
        (Place.LOG, r"^/var/log(/|$)|^/var/run/utmp|^/var/log/wtmp"),
        (Place.KERNEL, r"^/proc/sys(/|$)|^/proc/sysrq-trigger|^/sys(/|$)|^/boot(/|$)|^/lib/modules|^/proc/kcore"),
    )
)
#: The top-level directories of the system (not the workspace's, not homes).
SYSTEM_DIRS = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/var",
    "/opt",
    "/srv",
    "/proc",
    "/dev",
    "/run",
    "/snap",
    "/mnt",
    "/media",
)


def normalize(path: str, home: str = "~") -> str:
    """An absolute, normalized path: relative ones start in the workspace; ``~`` and ``$HOME`` stay
    ``~`` (``home``), because where home is differs between the host and the sandbox."""
    path = path.strip()
    for prefix in ("$HOME", "${HOME}", "~"):
        if path == prefix or path.startswith(prefix + "/"):
            path = "/~" + path[len(prefix) :]
            break
    if not path.startswith("/"):
        path = posixpath.join(WORKSPACE, path)
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/") if not normal.startswith("//") else normal[1:]


def kind(path: str) -> Place:
    """Where ``path`` points, for the policy (the most telling place wins: ``~/.ssh/id_rsa`` is a
    credential, not just home)."""
    path = normalize(path)
    home = path == "/~" or path.startswith("/~/")
    if not home and any(path == own or path.startswith(own + "/") for own in _OWN):
        return Place.WORKSPACE
    if path in ("/", "/*") or path.endswith("/.."):
        return Place.ROOT
    if _DEVICE.match(path):
        return Place.DEVICE
    tail = path[2:] if home else path
    for place, rule in _BY_RULE:
        if rule.search(tail if place is not Place.CREDENTIAL else path):
            return place
    if home or path == "/root" or path.startswith(("/root/", "/home")):
        return Place.HOME
    top = "/" + path.split("/")[1]
    return Place.SYSTEM if top in SYSTEM_DIRS or top in ("/boot", "/sys") else Place.OTHER
