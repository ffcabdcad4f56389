"""Markdown commands in real sandboxes: injection through parameters does not run; the declared
risk is a floor under the policy's analysis; each execution mode gets its backend (microvm: a clear
refusal); limits, timeouts and network reach the sandbox; ``knowledge_graph_required`` is enforced;
and the six shipped commands run here."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from airlock import Runtime, Settings
from airlock.commands import (
    CommandDefinition,
    Registry,
    build_request,
    parse_definition,
    project_commands,
    run_command,
    validate_params,
)
from airlock.errors import (
    BackendUnavailable,
    ConceptsMissing,
    ConfigError,
    InvalidRequest,
    ParameterError,
    PolicyDenied,
)
from airlock.models import Risk

FIXTURES = Path(__file__).parent / "command_fixtures"
#: A folder every sandbox can read: the standard library's json package of the system's Python.
JSON_DIR = sorted(Path("/usr/lib").glob("python3.*/json/__init__.py"))[0].parent


def define(front: str, script: str, tag: str = "bash", description: str = "a test command") -> CommandDefinition:
    return parse_definition(
        f"---\nname: t\ndescription: {description}\n{front}\n---\n```{tag}\n{script}\n```\n", "t.md"
    )


@pytest.fixture
async def rt(ns_runtime: Runtime) -> Runtime:
    return ns_runtime


async def runtime_with(settings: Settings, **policy: Any) -> Runtime:
    return Runtime(settings.model_copy(update={"policy": settings.policy.model_validate(policy)}))


@pytest.fixture
async def shipped(settings: Settings, namespace_backend: str) -> AsyncIterator[tuple[Runtime, Registry]]:
    async with Runtime(settings) as runtime:
        yield runtime, Registry.from_settings(settings)


# -- injection -----------------------------------------------------------------------------------------
INJECTIONS = [
    "; touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "a\ntouch pwned",
    "'; touch pwned; '",
    '"; touch pwned; "',
    "'); import os; os.system('touch pwned')#",
    '"); import os; os.system("touch pwned")#',
    "${IFS}touch${IFS}pwned",
    "$((1+1)) * ~ {a,b} \\",
    "-rf --help",
]
BASH_PROBE = """printf '<%s>\\n' {{v}}
printf '<%s>\\n' "quoted: {{v}}"
printf '<%s>\\n' --opt={{v}}
printf '<%s>\\n' {{many}}
[ {{v}} != x ] && printf '<%s>\\n' "not x: {{v}}"
if [ -e pwned ]; then echo INJECTED; else echo clean; fi"""
PYTHON_PROBE = """import os
print(repr({{v}}), repr({{many}}))
print("INJECTED" if os.path.exists("pwned") else "clean")"""
PARAMS = "execution_mode: sandbox\nparameters: [{name: v, required: true}, {name: many, type: array}]"


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_through_a_bash_parameter_does_not_run(rt: Runtime, value: str) -> None:
    result = await run_command(rt, define(PARAMS, BASH_PROBE), {"v": value, "many": [value, "x"]})
    assert result.verdict is not None
    assert result.verdict.isolation == "namespace"
    assert result.stderr == ""
    assert result.stdout == f"<{value}>\n<quoted: {value}>\n<--opt={value}>\n<{value}>\n<x>\n<not x: {value}>\nclean\n"


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_through_a_python_parameter_does_not_run(rt: Runtime, value: str) -> None:
    result = await run_command(rt, define(PARAMS, PYTHON_PROBE, tag="python"), {"v": value, "many": [value, 1]})
    assert result.error is None, result.error
    assert result.stdout == f"{value!r} {[value, 1]!r}\nclean\n"


async def test_values_of_every_type_arrive_as_given(rt: Runtime) -> None:
    front = (
        "execution_mode: sandbox\nparameters: [{name: n, type: number}, {name: b, type: boolean},"
        " {name: o, type: object}, {name: none}]"
    )
    result = await run_command(
        rt,
        define(front, "printf '%s %s %s [%s]\\n' {{n}} {{b}} {{o}} {{none}}"),
        {"n": 21, "b": False, "o": {"k": "$(id)"}},
    )
    assert result.stdout == '21 false {"k":"$(id)"} []\n'


# -- the declared risk is a floor ------------------------------------------------------------------------
async def test_a_low_declared_rm_rf_root_is_still_denied(rt: Runtime) -> None:
    with pytest.raises(PolicyDenied) as denied:
        await run_command(rt, define("risk_level: low\nexecution_mode: local", "ls; rm -rf /"), {})
    verdict = denied.value.verdict
    assert (verdict.decision, verdict.risk) == ("deny", Risk.CRITICAL)
    assert "delete.root" in [r.pattern for r in verdict.reasons]


async def test_a_high_declared_benign_script_goes_to_the_strongest_rung(rt: Runtime) -> None:
    result = await run_command(rt, define("risk_level: High\nexecution_mode: hybrid", "echo benign"), {})
    assert result.stdout == "benign\n"
    assert result.verdict is not None
    assert result.verdict.risk is Risk.HIGH
    assert result.verdict.isolation == rt.strongest_backend()
    assert [r.pattern for r in result.verdict.reasons] == ["declared.risk"]
    assert result.verdict.network is False
    assert result.metadata["command"] == "t"


async def test_a_critical_declared_command_never_runs(rt: Runtime) -> None:
    with pytest.raises(PolicyDenied) as denied:
        await run_command(rt, define("risk_level: Critical", "echo harmless"), {})
    assert [(r.pattern, r.risk) for r in denied.value.verdict.reasons] == [("declared.risk", Risk.CRITICAL)]


async def test_a_role_below_the_declared_risk_is_refused(settings: Settings, namespace_backend: str) -> None:
    async with await runtime_with(settings, roles={"default": {"max_risk": "medium"}}) as runtime:
        with pytest.raises(PolicyDenied) as denied:
            await run_command(runtime, define("risk_level: high", "echo hi"), {})
    assert "policy.max-risk" in [r.pattern for r in denied.value.verdict.reasons]


async def test_a_role_without_the_commands_permissions_is_refused(settings: Settings, namespace_backend: str) -> None:
    definition = define("permissions: [read, write]", "echo wrote")
    async with await runtime_with(
        settings, roles={"default": {"permissions": ["read"]}, "ops": {"permissions": ["read", "write"]}}
    ) as runtime:
        with pytest.raises(PolicyDenied) as denied:
            await run_command(runtime, definition, {})
        assert [r.pattern for r in denied.value.verdict.reasons] == ["policy.permissions"]
        assert "t needs write; role 'default' holds read" in str(denied.value)
        assert runtime.sandboxes() == []
        assert (await run_command(runtime, definition, {}, role="ops")).stdout == "wrote\n"
        assert (await run_command(runtime, define("", "echo free"), {})).stdout == "free\n"
    async with await runtime_with(settings) as anyone:  # a role without permissions: any
        assert (await run_command(anyone, definition, {})).stdout == "wrote\n"


# -- execution modes --------------------------------------------------------------------------------------
NET = "resource_limits: {network_access: true}"


@pytest.mark.parametrize(
    ("front", "script", "backend"),
    [
        (f"execution_mode: local\n{NET}", "echo ok", "process"),  # no parameters, low, the host's network asked
        ("execution_mode: local", "echo ok", "namespace"),  # process always has the host's network
        (f"execution_mode: local\n{NET}\nrisk_level: medium", "echo ok", "namespace"),  # declared medium
        (f"execution_mode: local\n{NET}", "curl -s --max-time 2 https://example.invalid || echo ok", "namespace"),
        (f"execution_mode: local\n{NET}\nparameters: [{{name: p, default: x}}]", "echo ok", "namespace"),
        ("execution_mode: sandbox", "echo ok", "namespace"),
        ("execution_mode: hybrid", "echo ok", "namespace"),  # the policy's routing: the default rung
    ],
)
async def test_each_mode_runs_where_it_says(rt: Runtime, front: str, script: str, backend: str) -> None:
    result = await run_command(rt, define(front, script), {})
    assert result.stdout.endswith("ok\n")
    assert result.verdict is not None
    assert result.verdict.isolation == backend


async def test_local_mode_does_not_pin_process_when_the_role_may_not(
    settings: Settings, namespace_backend: str
) -> None:
    async with await runtime_with(settings, roles={"default": {"backends": ["namespace"]}}) as runtime:
        result = await run_command(runtime, define(f"execution_mode: local\n{NET}", "echo ok"), {})
    assert result.verdict is not None
    assert result.verdict.isolation == "namespace"


def test_sandbox_mode_takes_the_default_backend_when_it_is_stronger(settings: Settings) -> None:
    runtime = Runtime(settings)
    assert build_request(runtime, define("execution_mode: sandbox", "echo"), {}).backend == "namespace"
    runtime.policy.default_backend = "gvisor"
    assert build_request(runtime, define("execution_mode: sandbox", "echo"), {}).backend == "gvisor"


async def test_a_value_the_analysis_would_refuse_is_refused(rt: Runtime) -> None:
    definition = define("execution_mode: sandbox\nparameters: [{name: p}]", "cat -- {{p}}")
    with pytest.raises(PolicyDenied) as denied:
        await run_command(rt, definition, {"p": "/etc/shadow"})
    inlined = [r for r in denied.value.verdict.reasons if r.message.startswith("with the values inlined: ")]
    assert inlined
    assert inlined[0].risk is Risk.CRITICAL
    assert rt.sandboxes() == []
    assert (await run_command(rt, definition, {"p": "/dev/null"})).exit_code == 0


async def test_a_microvm_command_is_refused_clearly_and_nothing_runs(rt: Runtime) -> None:
    from airlock.commands import load_definition

    definition = load_definition(FIXTURES / "firecracker.md")
    with pytest.raises(BackendUnavailable) as refused:
        await run_command(rt, definition, {"environment": "staging"})
    message = str(refused.value)
    assert refused.value.backend == "microvm"
    assert "no microVM backend" in message
    assert "execution_mode to sandbox or hybrid" in message
    assert rt.sandboxes() == []


# -- limits -------------------------------------------------------------------------------------------------
async def test_the_timeout_kills_a_long_run(rt: Runtime) -> None:
    result = await run_command(rt, define("timeout: 1\nexecution_mode: sandbox", "echo started; sleep 20"), {})
    assert result.timed_out
    assert result.stdout == "started\n"
    assert result.execution_time_ms < 10_000


def test_limits_and_timeout_reach_the_request(settings: Settings) -> None:
    runtime = Runtime(settings)
    front = (
        "timeout: 30\nresource_limits: {max_memory_mb: 64, max_cpu_time: 2.5, max_disk_mb: 32, network_access: true}"
    )
    with pytest.raises(InvalidRequest, match=r"limits\.tmpfs_mb"):
        build_request(runtime, define(f"resource_limits: {{max_disk_mb: {settings.limits.tmpfs_mb + 1}}}", "echo"), {})
    request = build_request(runtime, define(front, "echo"), {})
    assert request.context.timeout_ms == 2500  # the shorter of timeout and max_cpu_time
    assert request.limits is not None
    assert (request.limits.memory_mb, request.limits.tmpfs_mb, request.limits.network) == (64, 32, False)
    assert request.declared.network is True
    plain = build_request(runtime, define("", "echo"), {})
    assert (plain.limits, plain.declared.network, plain.context.timeout_ms) == (
        None,
        False,
        settings.default_timeout_ms,
    )


async def test_the_memory_limit_holds(rt: Runtime) -> None:
    front = "execution_mode: sandbox\nresource_limits: {max_memory_mb: 64}"
    result = await run_command(rt, define(front, "x = bytearray(256 * 2**20)\nprint('allocated')", tag="python"), {})
    assert not result.success
    assert "allocated" not in result.stdout
    assert result.oom_killed or (result.error is not None and result.error.name == "MemoryError")


async def test_the_role_caps_memory_and_timeout(settings: Settings, namespace_backend: str) -> None:
    roles = {"default": {"max_memory_mb": 128, "max_timeout_ms": 5000}}
    async with await runtime_with(settings, roles=roles) as runtime:
        with pytest.raises(PolicyDenied, match="128"):
            await run_command(runtime, define("resource_limits: {max_memory_mb: 256}", "echo"), {})
        with pytest.raises(PolicyDenied) as slow:
            await run_command(runtime, define("timeout: 60", "echo"), {})
        assert "policy.resources" in [r.pattern for r in slow.value.verdict.reasons]
        result = await run_command(runtime, define("timeout: 5\nresource_limits: {max_memory_mb: 96}", "echo fits"), {})
        assert result.stdout == "fits\n"


async def test_network_access_is_the_roles_egress_only_when_asked(settings: Settings, namespace_backend: str) -> None:
    async with await runtime_with(settings, roles={"default": {"egress": ["example.com"]}}) as runtime:
        closed = await run_command(runtime, define("", "echo"), {})
        asked = await run_command(runtime, define("resource_limits: {network_access: true}", "echo"), {})
        risky = await run_command(
            runtime, define("risk_level: medium\nresource_limits: {network_access: true}", "echo"), {}
        )
    assert closed.verdict is not None
    assert closed.verdict.network is False
    assert asked.verdict is not None
    assert asked.verdict.network is True
    assert risky.verdict is not None
    assert risky.verdict.network is False


# -- knowledge_graph_required ---------------------------------------------------------------------------------
THESAURUS = {
    "name": "ops",
    "data": {
        "production": {"id": 1, "nterm": "production"},
        "prod": {"id": 1, "nterm": "production"},
        "staging": {"id": 2, "nterm": "staging"},
        "ship": {"id": 3, "nterm": "deployment"},
        "deploy": {"id": 3, "nterm": "deployment"},
    },
}
KG_COMMAND = "knowledge_graph_required: [deployment, production]\nparameters: [{name: env, required: true}]"


async def test_a_request_missing_a_required_concept_is_refused_with_feedback(
    settings: Settings, namespace_backend: str, tmp_path: Path
) -> None:
    path = tmp_path / "ops.json"
    path.write_text(json.dumps(THESAURUS))
    configured = settings.model_copy(update={"commands": settings.commands.model_copy(update={"thesaurus": path})})
    definition = define(KG_COMMAND, 'echo "shipping to {{env}}"', description="Ship the build")
    async with Runtime(configured) as runtime:
        with pytest.raises(ConceptsMissing) as missing:
            await run_command(runtime, definition, {"env": "staging"})  # the description says ship: not the caller
        assert missing.value.missing == ["deployment", "production"]
        with pytest.raises(ConceptsMissing) as missing:
            await run_command(runtime, definition, {"env": "staging"}, intent="ship the build")
        assert missing.value.missing == ["production"]
        assert "Required concept 'production': say one of" in missing.value.feedback
        assert missing.value.retry
        assert not missing.value.escalate
        assert runtime.sandboxes() == []
        with pytest.raises(ConceptsMissing) as last:
            await run_command(runtime, definition, {"env": "staging"}, intent="ship the build", attempt=3)
        assert (last.value.retry, last.value.escalate) == (False, True)  # max_retries is 3: a human decides
        assert "User intervention required" in str(last.value)
        result = await run_command(runtime, definition, {"env": "prod"}, intent="deploy it")
    assert result.stdout == "shipping to prod\n"


def test_the_thesaurus_is_built_once_per_version_of_its_file(settings: Settings, tmp_path: Path) -> None:
    from airlock.commands.run import _validator

    path = tmp_path / "ops.json"
    path.write_text(json.dumps(THESAURUS))
    first, again = _validator(path, settings), _validator(path, settings)
    assert first.matcher is again.matcher  # the automaton is cached by the file's path, time and size
    path.write_text(json.dumps({**THESAURUS, "name": "ops, changed"}))
    changed = _validator(path, settings)
    assert changed.matcher is not first.matcher
    assert changed.matcher is not None
    assert changed.matcher.thesaurus.name == "ops, changed"


async def test_required_concepts_without_a_thesaurus_fail_closed(settings: Settings, namespace_backend: str) -> None:
    bare = settings.model_copy(update={"commands": settings.commands.model_copy(update={"builtin": False})})
    async with Runtime(bare) as runtime:
        with pytest.raises(ConfigError, match="no thesaurus is configured"):
            await run_command(runtime, define(KG_COMMAND, "echo {{env}}"), {"env": "production"})


async def test_bad_parameters_are_refused_before_anything_runs(rt: Runtime) -> None:
    with pytest.raises(ParameterError, match="required"):
        await run_command(rt, define(KG_COMMAND, "echo {{env}}"), {})
    assert rt.sandboxes() == []


# -- the shipped commands --------------------------------------------------------------------------------------
async def test_hello_world(shipped: tuple[Runtime, Registry]) -> None:
    runtime, registry = shipped
    result = await run_command(runtime, registry.resolve("hello"), {})
    assert result.stdout == "hello, World!\n"
    assert result.verdict is not None
    assert result.verdict.isolation == "namespace"  # local, but it has parameters: where the policy routes it
    greeted = await run_command(runtime, registry.resolve("hi"), {"name": "Ada; rm -rf ~", "greeting": "hey"})
    assert greeted.stdout == "hey, Ada; rm -rf ~!\n"


async def test_search(shipped: tuple[Runtime, Registry]) -> None:
    runtime, registry = shipped
    search = registry.resolve("find")
    found = await run_command(runtime, search, {"pattern": "def DUMPS", "path": str(JSON_DIR), "type": "py"})
    assert found.exit_code == 0, found.stderr
    assert f"{JSON_DIR}/__init__.py:" in found.stdout
    exact = await run_command(runtime, search, {"pattern": "def DUMPS", "path": str(JSON_DIR), "case_sensitive": True})
    assert (exact.exit_code, exact.stdout, exact.stderr) == (1, "", "search: no matches\n")
    dashed = await run_command(runtime, search, {"pattern": "-x", "path": str(JSON_DIR)})
    assert dashed.exit_code == 1  # a pattern is --regexp's value: any text
    with pytest.raises(ParameterError, match="begins with '-'"):
        await run_command(runtime, search, {"pattern": "x", "path": "--help"})


async def test_search_and_test_never_run_on_the_hosts_processes(shipped: tuple[Runtime, Registry]) -> None:
    runtime, registry = shipped
    hostname = await run_command(runtime, registry.resolve("search"), {"pattern": ".", "path": "/etc/hostname"})
    assert hostname.verdict is not None
    assert hostname.verdict.isolation == "namespace"
    outside = await run_command(runtime, registry.resolve("test"), {"path": str(Path(__file__).parent)})
    assert outside.verdict is not None
    assert outside.verdict.isolation == "namespace"
    for name, params in (("search", {"pattern": "x", "path": "/etc/hostname"}), ("test", {"path": "/"})):
        request = build_request(runtime, registry.resolve(name), validate_params(registry.resolve(name), params))
        assert request.backend is None  # the policy's routing, never a pinned process


async def test_a_parameter_free_low_hello_world_may_run_on_the_host(rt: Runtime) -> None:
    hello = define(f"execution_mode: local\nrisk_level: low\n{NET}", "echo 'hello, world'")
    result = await run_command(rt, hello, {})
    assert result.stdout == "hello, world\n"
    assert result.verdict is not None
    assert result.verdict.isolation == "process"


async def test_deploy(shipped: tuple[Runtime, Registry]) -> None:
    runtime, registry = shipped
    deploy = registry.resolve("deploy")
    with pytest.raises(ConceptsMissing, match="deployment"):
        await run_command(runtime, deploy, {"environment": "staging"}, intent="make me a sandwich")
    plan = await run_command(
        runtime, deploy, {"environment": "staging", "source": str(JSON_DIR), "dry_run": True}, intent="plan the release"
    )
    assert plan.exit_code == 0, plan.stderr
    assert "  would copy ./__init__.py\n" in plan.stdout
    assert plan.stdout.endswith("deploy: dry run, nothing was written\n")
    done = await run_command(runtime, deploy, {"environment": "demo", "source": str(JSON_DIR)}, intent="deploy it")
    assert done.exit_code == 0, done.stderr
    assert "deploy: health check passed; deployments/demo/current -> releases/" in done.stdout
    assert done.verdict is not None
    assert (done.verdict.risk, done.verdict.isolation) == (Risk.HIGH, "namespace")
    refused = await run_command(runtime, deploy, {"environment": "production", "source": str(JSON_DIR)}, intent="ship")
    assert refused.exit_code == 1
    assert "production needs a VERSION file" in refused.stderr
    empty = await run_command(runtime, deploy, {"environment": "staging"}, intent="deploy")  # an empty workspace
    assert empty.exit_code == 1
    assert "nothing to deploy" in empty.stderr
    forced = await run_command(runtime, deploy, {"environment": "production", "force": True}, intent="roll out")
    assert forced.exit_code == 0, forced.stderr
    with pytest.raises(ParameterError, match="allowed values"):
        await run_command(runtime, deploy, {"environment": "moon"}, intent="deploy")


async def test_backup(shipped: tuple[Runtime, Registry]) -> None:
    runtime, registry = shipped
    with pytest.raises(ConceptsMissing, match="backup"):
        await run_command(runtime, registry.resolve("archive"), {"target": str(JSON_DIR)})
    result = await run_command(
        runtime, registry.resolve("archive"), {"target": str(JSON_DIR)}, intent="back up the json folder"
    )
    assert result.exit_code == 0, result.stderr
    assert ".tar.gz, " in result.stdout
    entries = len(list(JSON_DIR.rglob("*"))) + 1  # the folder and everything in it
    assert f"backup: verified, {entries} entries, checksum matches" in result.stdout
    plain = await run_command(runtime, registry.resolve("backup"), {"target": ".", "compress": False}, intent="backup")
    assert plain.exit_code == 0, plain.stderr
    assert ".tar, " in plain.stdout
    assert plain.verdict is not None
    assert plain.verdict.risk is Risk.MEDIUM


def _setuid_programs() -> list[Path]:
    return [p for p in Path("/usr/bin").iterdir() if p.is_file() and not p.is_symlink() and p.stat().st_mode & 0o6000]


async def test_security_audit(shipped: tuple[Runtime, Registry]) -> None:
    runtime, registry = shipped
    audit = registry.resolve("security-audit")
    with pytest.raises(ConceptsMissing, match="security"):
        await run_command(runtime, audit, {}, intent="bake a chocolate cake")
    clean = await run_command(runtime, audit, {}, intent="security audit of the workspace")
    assert (clean.exit_code, clean.stdout) == (0, "security-audit: 0 findings in .\n")
    setuid = _setuid_programs()
    if not setuid:
        pytest.skip("this host has no set-uid program in /usr/bin to find")
    found = await run_command(runtime, audit, {"target": "/usr/bin"}, intent="audit /usr/bin")
    assert found.exit_code == 1
    assert f"high   setuid-or-setgid       {sorted(setuid)[0]}\n" in found.stdout
    quiet = await run_command(runtime, audit, {"target": "/usr/bin", "report": False}, intent="audit it")
    assert quiet.stdout.startswith("security-audit: ")
    assert quiet.stdout.count("\n") == 1


async def test_test(shipped: tuple[Runtime, Registry]) -> None:
    runtime, registry = shipped
    result = await run_command(runtime, registry.resolve("run-tests"), {})
    assert result.exit_code == 0, result.stderr
    assert "Ran 3 tests" in result.stdout
    assert result.stdout.rstrip().endswith("OK")
    assert "running the built-in smoke test" in result.stderr
    with pytest.raises(ParameterError, match="pattern"):
        await run_command(runtime, registry.resolve("test"), {"pattern": "x; rm -rf /"})


def test_the_shipped_folder_is_the_projects() -> None:
    folder = Path(__file__).parents[1] / "commands"
    assert project_commands() == folder
    assert os.access(folder / "thesaurus.json", os.R_OK)
