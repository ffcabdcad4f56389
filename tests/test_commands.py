"""Markdown commands without a sandbox: every frontmatter field parsed and enforced (with the file
and line of each problem), parameters from text and JSON, where placeholders may stand and what they
become, and the registry: folders, duplicates, search, suggestions and hot reload."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from airlock.commands import (
    CommandView,
    ExecutionMode,
    ParameterType,
    Registry,
    load_definition,
    parse_definition,
    parse_params,
    validate_params,
)
from airlock.commands.registry import command_dirs, project_commands
from airlock.commands.script import ENV_PREFIX, analysed_copy, find_slots, render
from airlock.config import Settings
from airlock.errors import CommandNotFound, DefinitionError, ParameterError
from airlock.models import Risk

FIXTURES = Path(__file__).parent / "command_fixtures"


def command(front: str = "", script: str = "echo hi", tag: str = "bash", name: str = "t") -> str:
    """A command file: ``name`` and ``description`` on lines 2-3, ``front`` from line 4 on."""
    return f"---\nname: {name}\ndescription: a test command\n{front}\n---\n# T\n\n```{tag}\n{script}\n```\n"


def problems(text: str, source: str = "t.md") -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, source)
    return str(caught.value).splitlines()


# -- the schema ----------------------------------------------------------------------------------------
def test_every_field_is_parsed() -> None:
    text = command(
        """usage: "t <x>"
category: Testing
aliases: [tt, t2]
version: "2.1.0"
execution_mode: sandbox
risk_level: medium
permissions: [read, write]
knowledge_graph_required: [deployment]
timeout: 12.5
resource_limits:
  max_memory_mb: 256
  max_cpu_time: 5
  max_disk_mb: 64
  network_access: true
parameters:
  - name: x
    type: number
    required: true
    description: a number
    validation: {min: 1, max: 10}
  - name: colour
    type: string
    default_value: red
    allowed_values: [red, green]
  - name: word
    type: string
    default: abc
    validation: {pattern: "[a-z]+"}
  - name: flags
    type: array
  - name: extra
    type: object""",
        script="echo {{x}} {{colour}}",
    )
    d = parse_definition(text, "t.md")
    assert (d.name, d.description, d.usage, d.category, d.version) == (
        "t",
        "a test command",
        "t <x>",
        "Testing",
        "2.1.0",
    )
    assert d.aliases == ["tt", "t2"]
    assert d.execution_mode is ExecutionMode.SANDBOX
    assert d.risk_level is Risk.MEDIUM
    assert d.permissions == ["read", "write"]
    assert d.knowledge_graph_required == ["deployment"]
    assert d.timeout == 12.5
    assert d.resource_limits is not None
    assert d.resource_limits.model_dump() == {
        "max_memory_mb": 256,
        "max_cpu_time": 5,
        "max_disk_mb": 64,
        "network_access": True,
    }
    x, colour, word, flags, extra = d.parameters
    assert (x.type, x.required, x.rules.min, x.rules.max, x.has_default) == (ParameterType.NUMBER, True, 1, 10, False)
    assert (colour.default, colour.rules.allowed_values) == ("red", ["red", "green"])  # top-level allowed_values merged
    assert (word.default, word.rules.pattern) == ("abc", "[a-z]+")
    assert (flags.type, extra.type) == (ParameterType.ARRAY, ParameterType.OBJECT)
    assert d.script.language == "bash"
    assert d.script.line == 40
    assert d.source == "t.md"
    assert d.lines["aliases[1]"] == 6


def test_defaults_of_the_optional_fields() -> None:
    d = parse_definition(command(), "t.md")
    assert d.execution_mode is ExecutionMode.HYBRID  # the policy's routing unless the file asks otherwise
    assert d.risk_level is Risk.LOW
    assert (d.aliases, d.parameters, d.permissions, d.knowledge_graph_required) == ([], [], [], [])
    assert (d.version, d.timeout, d.resource_limits, d.usage, d.category) == ("1.0.0", None, None, None, None)


@pytest.mark.parametrize(
    ("front", "value"),
    [
        ("risk_level: High", Risk.HIGH),
        ("risk_level: CRITICAL", Risk.CRITICAL),
        ("risk_level: ' medium '", Risk.MEDIUM),
        ("execution_mode: Firecracker", ExecutionMode.MICROVM),
        ("execution_mode: MicroVM", ExecutionMode.MICROVM),
        ("execution_mode: Local", ExecutionMode.LOCAL),
        ("execution_mode: HYBRID", ExecutionMode.HYBRID),
        ("execution_mode: Sandbox", ExecutionMode.SANDBOX),
        ("parameters: [{name: n, type: Number}]", ParameterType.NUMBER),
        ("parameters: [{name: n, type: BOOLEAN}]", ParameterType.BOOLEAN),
    ],
)
def test_enumerated_values_are_case_insensitive(front: str, value: object) -> None:
    d = parse_definition(command(front), "t.md")
    assert value in (d.risk_level, d.execution_mode, *(p.type for p in d.parameters))


def test_the_firecracker_fixture_parses_in_the_seeds_style() -> None:
    d = load_definition(FIXTURES / "firecracker.md")
    assert d.execution_mode is ExecutionMode.MICROVM
    assert d.risk_level is Risk.HIGH


# One failing example per field: (frontmatter from line 4, the line reported, words of the message).
FAILURES = [
    ("", 2, "name", "Field required"),
    ("name: 9lives", 4, "name", "match pattern"),
    ("usage: [a, b]", 4, "usage", "valid string"),
    ("category: {a: 1}", 4, "category", "valid string"),
    ("aliases: [ok, -bad]", 4, "aliases[1]", "match pattern"),
    ("aliases: [t]", 4, "aliases", "differ"),
    ("version: 1.0", 4, "version", "valid string"),
    ("execution_mode: teleport", 4, "execution_mode", "'local', 'sandbox', 'microvm' or 'hybrid'"),
    ("risk_level: extreme", 4, "risk_level", "'low', 'medium', 'high' or 'critical'"),
    ("permissions: read", 4, "permissions", "valid list"),
    ("knowledge_graph_required: ['']", 4, "knowledge_graph_required[0]", "at least 1 character"),
    ("timeout: 0", 4, "timeout", "greater than 0"),
    ("timeout: -3", 4, "timeout", "greater than 0"),
    ("resource_limits:\n  max_memory_mb: 0", 5, "resource_limits.max_memory_mb", "greater than or equal to 16"),
    ("resource_limits:\n  max_cpu_time: 0", 5, "resource_limits.max_cpu_time", "greater than 0"),
    ("resource_limits:\n  max_disk_mb: -1", 5, "resource_limits.max_disk_mb", "greater than 0"),
    ("resource_limits:\n  network_access: maybe", 5, "resource_limits.network_access", "valid boolean"),
    ("resource_limits:\n  gpus: 2", 5, "resource_limits.gpus", "unknown key"),
    ("colour: red", 4, "colour", "unknown key"),
    ("script: 'rm -rf /'", 4, "script", "unknown key"),
    ("parameters:\n  - type: string", 5, "parameters[0].name", "Field required"),
    ("parameters:\n  - name: bad-name", 5, "parameters[0].name", "match pattern"),
    ("parameters:\n  - name: x\n    type: blob", 6, "parameters[0].type", "'string', 'number', 'boolean'"),
    ("parameters:\n  - name: x\n    required: sometimes", 6, "parameters[0].required", "valid boolean"),
    ("parameters:\n  - name: x\n    required: true\n    default: 3", 7, "parameters[0].default", "required"),
    ("parameters:\n  - name: x\n    type: number\n    default_value: many", 7, "parameters[0].default", "not a number"),
    ("parameters:\n  - name: x\n    default: a\n    default_value: b", 7, "parameters[0].default_value", "unknown"),
    ("parameters:\n  - name: x\n    description: [1]", 6, "parameters[0].description", "valid string"),
    ("parameters:\n  - name: x\n    validation: {min: 1}", 6, "parameters[0].validation", "bound numbers"),
    ("parameters:\n  - name: x\n    type: number\n    validation: {min: 5, max: 1}", 7, "validation", "greater"),
    ("parameters:\n  - name: x\n    type: number\n    validation: {pattern: a}", 7, "validation", "strings"),
    ("parameters:\n  - name: x\n    validation: {pattern: '('}", 6, "validation.pattern", "regular expression"),
    ("parameters:\n  - name: x\n    validation: {allowed_values: []}", 6, "allowed_values", "at least 1 item"),
    ("parameters:\n  - name: x\n    allowed_values: [yes, no]", 6, "parameters[0].allowed_values", "not a string"),
    (
        "parameters:\n  - name: x\n    allowed_values: [a]\n    validation: {allowed_values: [b]}",
        6,
        "twice",
        "keep one",
    ),
    ("parameters:\n  - name: x\n    validation: {maximum: 3}", 6, "validation.maximum", "unknown key"),
    (
        "parameters:\n  - name: x\n    type: number\n    default: 30\n    validation: {max: 10}",
        7,
        "default",
        "above its max",
    ),
    ("parameters:\n  - name: x\n    default: Blue\n    allowed_values: [red]", 6, "default", "not one of"),
    ("parameters:\n  - name: x\n    default: ABC\n    validation: {pattern: '[a-z]+'}", 6, "default", "pattern"),
    ("parameters:\n  - name: x\n  - name: x", 4, "parameters", "named twice"),
]


@pytest.mark.parametrize(("front", "line", "where", "words"), FAILURES, ids=[f[2] + ":" + f[3] for f in FAILURES])
def test_each_field_refuses_a_bad_value_with_file_and_line(front: str, line: int, where: str, words: str) -> None:
    if front.startswith("name:"):
        text = command(name=front.removeprefix("name: ")).replace("description: a test command\n", "description: d\n")
        text = text.replace("---\nname:", "---\n\n\nname:", 1)  # the name on line 4
    elif not front:
        text = "---\ndescription: no name here\n---\n```bash\necho\n```\n"
    else:
        text = command(front)
    found = problems(text, "cmds/t.md")
    assert any(p.startswith(f"cmds/t.md:{line}: ") and where in p and words in p for p in found), found


def test_a_missing_description_is_reported_at_the_frontmatter() -> None:
    assert problems("---\nname: t\n---\n```bash\necho\n```\n") == ["t.md:2: description: Field required"]
    empty = "---\nname: t\ndescription: ''\n---\n```bash\necho\n```\n"
    assert problems(empty) == ["t.md:3: description: String should have at least 1 character"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "t.md:1: no frontmatter"),
        ("name: t\n", "t.md:1: no frontmatter"),
        ("---\nname: t\n", "t.md:1: the frontmatter is not closed"),
        ("---\n- a\n- b\n---\n```\nx\n```\n", "t.md:2: the frontmatter must be a mapping"),
        ("---\nname: t\ndescription: [unclosed\n---\n", "t.md:3: invalid YAML"),
        ("---\nname: t\ndescription: d\nname: u\n---\n", "t.md:4: name: the key is given twice (first on line 2)"),
        ("---\nname: t\n  description: bad indent\n---\n", "t.md:3: invalid YAML"),
        ("---\nname: t\ndescription: &d x\nusage: *d\n---\n", "t.md:4: invalid YAML: aliases"),
        ("---\nname: t\ndescription: d\ncategory: !!python/object:os.system x\n---\n", "t.md:4: invalid YAML"),
        ("---\nname: t\ndescription: d\n---\nprose only\n", "t.md:5: no script"),
        ("---\nname: t\ndescription: d\n---\n\n```js\nx\n```\n", "t.md:6: the script is the first code block"),
        ("---\nname: t\ndescription: d\n---\n```bash\necho\n", "t.md:5: the script's code block is not closed"),
    ],
)
def test_file_level_problems_carry_their_line(text: str, expected: str) -> None:
    assert problems(text)[0].startswith(expected)


def test_a_file_that_is_not_utf8_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(b"---\nname: t\ndescription: caf\xe9\n---\n")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert str(caught.value) == f"{path}:3: not UTF-8 text"


def test_the_script_language_comes_from_the_first_code_block() -> None:
    assert parse_definition(command(tag=""), "t.md").script.language == "bash"
    assert parse_definition(command(tag="sh"), "t.md").script.language == "bash"
    assert parse_definition(command(tag="Python", script="print(1)"), "t.md").script.language == "python"
    later = command() + "\n## Examples\n\n```text\nt --help\n```\n"
    assert parse_definition(later, "t.md").script.code == "echo hi\n"


def test_the_view_shows_the_command_without_its_file() -> None:
    view = CommandView.of(load_definition(FIXTURES / "firecracker.md")).model_dump(mode="json")
    assert view["execution_mode"] == "microvm"
    assert view["risk_level"] == "high"
    assert view["language"] == "bash"
    assert "source" not in view
    assert "lines" not in view


# -- parameters ----------------------------------------------------------------------------------------
TYPED = command(
    """parameters:
  - {name: s, type: string, required: true}
  - {name: n, type: number, validation: {min: 0, max: 10}}
  - {name: b, type: boolean, default: false}
  - {name: a, type: array}
  - {name: o, type: object}
  - {name: e, type: string, allowed_values: [dev, prod]}""",
    script="echo {{s}}",
)


def test_values_from_text_are_typed() -> None:
    d = parse_definition(TYPED, "t.md")
    values = parse_params(d, ["s=x=y", "n=2.5", "b=YES", 'a=[1, "two"]', 'o={"k": [1]}', "e=prod"])
    assert values == {"s": "x=y", "n": 2.5, "b": True, "a": [1, "two"], "o": {"k": [1]}, "e": "prod"}
    assert validate_params(d, values) == values
    assert parse_params(d, ["n=3", "b=off"]) == {"n": 3, "b": False}


@pytest.mark.parametrize(
    ("pairs", "words"),
    [
        (["nope=1"], "has no parameter 'nope'"),
        (["s"], "expected NAME=VALUE"),
        (["s=a", "s=b"], "given twice"),
        (["n=three"], "is a number"),
        (["n=true"], "is a number"),
        (["b=maybe"], "is a boolean"),
        (["a=1,2"], "is an array"),
        (["o=[1]"], "is an object"),
    ],
)
def test_text_that_does_not_fit_is_refused(pairs: list[str], words: str) -> None:
    with pytest.raises(ParameterError, match=words):
        parse_params(parse_definition(TYPED, "t.md"), pairs)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({}, "'s' is required"),
        ({"s": "x", "zzz": 1}, "no parameter 'zzz'"),
        ({"s": 3}, "not a string"),
        ({"s": "x", "n": "3"}, "not a number"),
        ({"s": "x", "n": True}, "not a number"),
        ({"s": "x", "n": float("nan")}, "not a finite number"),
        ({"s": "x", "n": 11}, "above its max"),
        ({"s": "x", "n": -1}, "below its min"),
        ({"s": "x", "b": "true"}, "not a boolean"),
        ({"s": "x", "a": "a"}, "not a array"),
        ({"s": "x", "o": [1]}, "not a object"),
        ({"s": "x", "e": "Prod"}, "allowed values"),
        ({"s": "nul\0byte"}, "NUL"),
        ({"s": "x", "a": ["ok", "x\0y"]}, "NUL"),
        ({"s": "x", "o": {"k": ["\0"]}}, "NUL"),
        ({"s": "x", "o": {"k\0": 1}}, "NUL"),
        ({"s": "lone \ud800 surrogate"}, "not valid Unicode"),
        ({"s": "x" * 70_000}, "longer than"),
    ],
)
def test_json_values_are_checked(values: dict[str, Any], words: str) -> None:
    with pytest.raises(ParameterError, match=words):
        validate_params(parse_definition(TYPED, "t.md"), values)


def test_defaults_fill_in_and_absent_optionals_stay_absent() -> None:
    assert validate_params(parse_definition(TYPED, "t.md"), {"s": "x"}) == {"s": "x", "b": False}


def test_a_pattern_must_match_the_whole_value() -> None:
    d = parse_definition(command("parameters:\n  - {name: w, validation: {pattern: '[a-z]+'}}"), "t.md")
    assert validate_params(d, {"w": "abc"}) == {"w": "abc"}
    with pytest.raises(ParameterError, match="pattern"):
        validate_params(d, {"w": "abc; rm -rf /"})


# -- placeholders --------------------------------------------------------------------------------------
KINDS = {"s": ParameterType.STRING, "n": ParameterType.NUMBER, "a": ParameterType.ARRAY, "b": ParameterType.BOOLEAN}


@pytest.mark.parametrize(
    ("script", "slots"),
    [
        ("echo {{s}} -{{s}}", [("word", False), ("word", False)]),  # echo's options are harmless
        ('echo "x {{s}} y" >&2', [("quoted", False)]),
        ("printf '%s\\n' {{s}} --x={{s}} {{a}}", [("word", False)] * 3),  # nothing after the format is an option
        ("printf -- %s {{s}}", [("word", False)]),
        ("ls {{s}} {{a}}", [("word", True)] * 2),  # a value that begins a word could be an option
        ("cat -- {{s}} {{a}} 2>/dev/null", [("word", True)] * 2),  # even after --: an option may take -- as its value
        ('grep -rn --regexp={{s}} "{{s}}/x" ./{{s}}', [("word", False), ("quoted", True), ("word", False)]),
        (
            '[ {{s}} = y ] && [[ -z {{s}} ]] || [ ! -e "{{s}}/x" ] && [[ {{s}} != a* ]]',
            [("word", False)] * 2 + [("quoted", False), ("word", False)],
        ),
        ("if [ {{b}} = true ]; then mkdir -p -- {{s}}; fi", [("word", False), ("word", True)]),
        ("printf '%s\\n' {{s}} | sort | head -n 1", [("word", False)]),
        ("for f in *; do (rm -f -- ./{{s}} || :) & done", [("word", False)]),
        ("find {{s}} -name '*.py'", [("word", True)]),  # find has no --
        ("tar --force-local -c -f out.tar -- {{a}}", [("word", True)]),
        ("exit {{n}}", [("word", False)]),
    ],
)
def test_where_a_bash_placeholder_may_stand(script: str, slots: list[tuple[str, bool]]) -> None:
    found, refused = find_slots(script, "bash", KINDS)
    assert refused == []
    assert [(slot.context, slot.refuse_dash) for slot in found] == slots


#: The security review's templates (/tmp/review8): each one handed a value to a reader of code.
REVIEWED = [
    ("command eval {{s}}", "argument of command, which is not among the programs"),
    ('builtin eval "{{s}}"', "argument of builtin"),
    ("env sh -c {{s}}", "argument of env"),
    ("timeout 5 sh -c {{s}}", "argument of timeout"),
    ("echo hi | xargs sh -c {{s}}", "argument of xargs"),
    ("bash <<< {{s}}", "here-string"),
    ("bash < <(printf %s {{s}})", "inside <( )"),
    ('v={{s}}; eval "$v"', "assigned to a variable"),
    ("printf -v {{s}} %s 1", "printf with an option"),
    ("declare -i n={{s}}; echo $n", "assigned to a variable"),
    ("declare -i n; n={{s}}; echo $n", "assigned to a variable"),
    ("test -v {{s}} && echo y", "argument of test"),
    ("[ -v {{s}} ] && echo y", "operand of the test -v"),
    ("a=(1); unset {{s}}", "variable's name"),
    ("read {{s}} <<< hi", "argument of read"),
    ('s=abcdef; echo "${s:{{s}}}"', "variable's name"),
    ("s=abcdef; echo ${s:1:{{s}}}", "variable's name"),
    ("for ((i=0; i<{{s}}; i++)); do :; done", "arithmetic"),
    ("echo $[ {{s}} ]", "arithmetic"),
    ("exec sh -c {{s}}", "argument of exec"),
    ("nohup bash -c {{s}}", "argument of nohup"),
    ("nice bash -c {{s}}", "argument of nice"),
    ("echo {{s}} | env bash", "piped into env"),
    ("bash -s <<< {{s}}", "here-string"),
    ("source /dev/stdin <<< {{s}}", "here-string"),
    ("time eval {{s}}", "argument of time"),
    ("declare -A m; m[{{s}}]=1", "arithmetic"),
    ("f() { local -i z={{s}}; }; f", "assigned to a variable"),
    ('r={{s}}; echo "${!r}"', "assigned to a variable"),
    ("case {{s}} in a) ;; esac", "case statement's word"),
    ("export {{s}}", "variable's name"),
    ("declare {{s}}", "variable's name"),
    ("mapfile {{s}} < /dev/null", "argument of mapfile"),
    ("coproc bash -c {{s}}", "argument of coproc"),
    ("bash -o posix -c {{s}}", "argument of bash"),
    ("echo {{s}} | command bash", "piped into command"),
    ('eval() { :; }; printf "%s" {{s}} | sh', "piped into sh"),
    ("[[ {{s}} > 1 ]]", "operand of the test >"),
    ("{ echo {{s}}; } | bash", "piped into bash"),
    ("(echo {{s}}) | sh", "piped into sh"),
    ("echo {{s}} > /tmp/s.sh; bash /tmp/s.sh", "redirected to a file"),
    ('printf "%s\\n" {{s}} | while read -r l; do eval "$l"; done', "piped into while statement"),
    ('"{{s}}" arg', "command's name"),
    ("/tmp/review8/{{s}} arg", "command's name"),
    ('{{s}}"" arg', "command's name"),
    ("exec {{s}} arg", "argument of exec"),
    ("command {{s}} arg", "argument of command"),
    ("env {{s}} arg", "argument of env"),
    ("find /tmp -maxdepth 0 -exec {{s}} x \\;", "find -exec, which runs a program"),
    ("{{s}}=1 true", "variable's name"),
    ("${{s}} x", "variable's name"),
    ("${ {{s}} }", "variable's name"),
]
MORE_REFUSALS = [
    ("echo '{{s}}'", "single quotes"),
    ("echo $'{{s}}'", "single quotes"),
    ("echo hi # {{s}}", "comment"),
    ("cat <<EOF\n{{s}}\nEOF", "heredoc"),
    ("eval {{s}}", "argument of eval"),
    ("let x={{n}}", "argument of let"),
    ("trap {{s}} EXIT", "argument of trap"),
    ("cd {{s}}", "argument of cd"),
    ('x="$(echo {{s}})"', "inside $( )"),
    ('echo "${z:-{{s}}}"', "expansion"),
    ("echo $(( {{n}} + 1 ))", "arithmetic"),
    ("[[ {{n}} -eq 3 ]]", "operand of the test -eq"),
    ("[ {{s}} = a -o b = c ]", "more than one comparison"),
    ("for i in {{s}}; do echo $i; done", "for loop's list"),
    ("for i in {{a}}; do echo $i; done", "whole argument"),
    ("x={{a}}", "array"),
    ("ls --x={{a}}", "whole argument"),
    ("[ -z {{a}} ]", "whole argument"),
    ("f() { echo {{s}}; }", "function's body"),
    ("echo {{s}} >&3", "redirected to a file"),
    ("echo {{s}} | tee f", "piped into tee"),
    ("echo {{s}} | sort --compress-prog=sh", "piped into sort"),
    ("cat < {{s}}", "redirection"),
    ("ls -{{s}}", "option's name"),
    ('grep -e"{{s}}" f', "option's name"),
    ('printf "$fmt" {{s}}', "format must be literal"),
    ("printf {{s}}", "printf's format"),
    ("rg --pre={{s}} x .", "rg --pre"),
    ("rg --pre sh -- {{s}} .", "rg --pre"),
    ('rg "${args[@]}" -- {{s}}', "must be literal"),
    ("find . -name {{s}} -delete", "find -delete"),
    ("tar -c -f x.tar -- {{s}}", "without --force-local"),
    ("tar cIf sh x.tar --force-local -- {{s}}", "tar -I"),
    ("tar --force-local --to-com=sh -x -f x.tar -- {{s}}", "tar --to-command"),
    ("tar {{s}} --force-local", "first argument"),
    ('echo() { eval "$1"; }; echo {{s}}', "defines a function echo"),
    ("exec >out.sh; echo {{s}}", "uses exec"),
    ("alias ls=eval; ls -- {{s}}", "uses alias"),
    ("printf '%s\\n' {{s}} | uniq - out.sh", "piped into uniq"),
    ("printf '%s\\n' {{s}} | cp /dev/stdin out.sh", "piped into cp"),
    ("printf '%s\\n' {{s}} | sort -no out.sh", "piped into sort"),
    ("printf \\-v {{s}} 1", "printf with an option"),
    ("printf '-v' {{s}} 1", "printf with an option"),
    ('rg "--p"re=sh -e x {{s}}', "rg --pre"),
    ("rg --p\\re=sh -e x {{s}}", "rg --pre"),
    ("rg --{pre,x}=sh -e x {{s}}", "must be literal"),
    ('echo {{s}}; eval "$_"', "reads $_"),
    ("echo {{nope}}", "names no parameter"),
    ("if then fi ( {{s}}", "does not parse"),
]


@pytest.mark.parametrize(("script", "words"), REVIEWED + MORE_REFUSALS)
def test_where_a_bash_placeholder_is_refused(script: str, words: str) -> None:
    found, refused = find_slots(script, "bash", KINDS)
    assert refused, found
    assert any(words in message for _, message in refused), refused


@pytest.mark.parametrize("script", [script for script, _ in REVIEWED])
def test_the_reviewed_templates_fail_to_load_with_file_and_line(script: str) -> None:
    front = "parameters: [{name: s}, {name: n, type: number}, {name: a, type: array}]"
    found = problems(command(front, script=script))
    assert any(line.startswith("t.md:9: {{s}} ") for line in found), found


@pytest.mark.parametrize(
    ("script", "ok"),
    [
        ("print({{s}})", True),
        ("x = {{ s }} + 1", True),
        ("f({{a}}, key={{b}})", True),
        ('x = "{{s}}"', False),
        ("x = '''\n{{s}}\n'''", False),
        ('x = f"{ {{s}} }"', False),
        ("# {{s}}", False),
        ("a{{s}} = 1", False),
        ("obj.{{s}}", False),
        ("import {{s}}", False),
        ("def {{s}}(): pass", False),
    ],
)
def test_where_a_python_placeholder_may_stand(script: str, ok: bool) -> None:
    slots, refused = find_slots(script, "python", KINDS)
    assert bool(slots) == ok
    assert bool(refused) != ok


def test_a_python_script_that_does_not_compile_is_refused_with_its_line() -> None:
    found = problems(command(tag="python", script="x = 1\nif x\n    pass"))
    assert found[0].startswith("t.md:10: the Python script does not parse")


def test_placeholder_problems_carry_the_files_line() -> None:
    found = problems(command("parameters: [{name: s}]", script="echo ok\necho '{{s}}'"))
    assert found == [
        "t.md:10: {{s}} is inside single quotes, where it would stay literal text: use double quotes or none"
    ]


def test_bash_values_go_to_the_environment_never_into_the_code() -> None:
    d = parse_definition(
        command(
            "parameters: [{name: s}, {name: n, type: number}, {name: a, type: array}, {name: o, type: object},"
            " {name: b, type: boolean}, {name: absent}]",
            script='printf \'%s|\' {{s}} "<{{s}}>" {{n}} {{a}} {{o}} {{b}} {{absent}} "[{{absent}}]"',
        ),
        "t.md",
    )
    values = {"s": "$(id)", "n": 21, "a": ["x y", "`id`"], "o": {"k": "v"}, "b": True}
    code, env = render(d.script, {p.name: p for p in d.parameters}, values)
    p = ENV_PREFIX
    assert code == (
        f'printf \'%s|\' "${{{p}s}}" "<${{{p}s}}>" "${{{p}n}}" "${{{p}0_a}}" "${{{p}1_a}}" '
        f'"${{{p}o}}" "${{{p}b}}" "" "[]"\n'
    )
    assert env == {
        f"{p}s": "$(id)",
        f"{p}n": "21",
        f"{p}0_a": "x y",
        f"{p}1_a": "`id`",
        f"{p}o": '{"k":"v"}',
        f"{p}b": "true",
    }


def test_a_value_that_would_be_an_option_is_refused_where_it_would_be_one() -> None:
    d = parse_definition(
        command("parameters: [{name: s}, {name: a, type: array}]", script="ls {{s}}; ls -- {{a}}; echo {{s}} {{a}}"),
        "t.md",
    )
    parameters = {p.name: p for p in d.parameters}
    assert render(d.script, parameters, {"s": "ok", "a": ["x", "y"]})[1][f"{ENV_PREFIX}1_a"] == "y"
    for values in ({"s": "-la"}, {"s": "--all", "a": ["x"]}, {"s": "ok", "a": ["-la"]}):
        with pytest.raises(ParameterError, match="begins with '-'"):
            render(d.script, parameters, values)
    bare = parse_definition(command("parameters: [{name: a, type: array}]", script="ls {{a}}"), "t.md")
    with pytest.raises(ParameterError, match="'--all' of 'a' begins with '-'"):
        render(bare.script, {"a": bare.parameters[0]}, {"a": ["x", "--all"]})


def test_the_policys_copy_has_the_values_inlined() -> None:
    script = (
        'printf \'%s\\n\' {{s}} "<{{s}}>"; cat -- "$AIRLOCK_PARAM_s" $AIRLOCK_PARAM_absent\n'
        "cat <<EOF\n$AIRLOCK_PARAM_s\nEOF"
    )
    d = parse_definition(command("parameters: [{name: s}, {name: absent}]", script=script), "t.md")
    code, env = render(d.script, {p.name: p for p in d.parameters}, {"s": "/etc/shadow 'x\" $y"})
    assert analysed_copy(d.script, code, env) == (
        "printf '%s\\n' '/etc/shadow '\"'\"'x\" $y' \"</etc/shadow 'x\\\" \\$y>\"; "
        "cat -- '/etc/shadow '\"'\"'x\" $y' ''\ncat <<EOF\n/etc/shadow 'x\" $y\nEOF\n"
    )
    python = parse_definition(command("parameters: [{name: s}]", tag="python", script="print({{s}})"), "t.md")
    code, env = render(python.script, {"s": python.parameters[0]}, {"s": "/etc"})
    assert analysed_copy(python.script, code, env) == code == "print(('/etc'))\n"


def test_python_values_become_literals() -> None:
    d = parse_definition(
        command(
            "parameters: [{name: s}, {name: a, type: array}, {name: absent}]",
            tag="python",
            script="f({{s}}, {{a}}, {{absent}})",
        ),
        "t.md",
    )
    code, env = render(d.script, {p.name: p for p in d.parameters}, {"s": "'); import os#", "a": [1, True, None]})
    assert code == 'f(("\'); import os#"), ([1, True, None]), None)\n'
    assert env == {}


# -- the registry --------------------------------------------------------------------------------------
def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folders_are_scanned_recursively_to_a_depth(tmp_path: Path) -> None:
    write(tmp_path, "a.md", command(name="a"))
    write(tmp_path, "sub/b.md", command(name="b"))
    write(tmp_path, "sub/deeper/c.md", command(name="c"))
    write(tmp_path, "README.md", "# not a command")
    write(tmp_path, ".hidden/d.md", command(name="d"))
    write(tmp_path, "notes.txt", "not markdown")
    registry = Registry([tmp_path, tmp_path / "missing"], max_depth=1)
    assert registry.reload() == []
    assert [c.name for c in registry.commands()] == ["a", "b"]


def test_duplicate_names_and_aliases_are_refused_naming_both_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    a = write(first, "a.md", command("aliases: [x]", name="a"))
    write(second, "same-name.md", command(name="a"))
    write(second, "alias-is-name.md", command(name="x"))
    write(second, "name-is-alias.md", command("aliases: [a]", name="z"))
    write(second, "alias-twice.md", command("aliases: [y, x]", name="w"))
    registry = Registry([first, second])
    errors = {Path(e.path).name: str(e) for e in registry.reload()}
    assert [c.name for c in registry.commands()] == ["a"]
    assert (
        errors["same-name.md"]
        == f"{second}/same-name.md:2: name 'a' is taken: it is the name of 'a' in {a}:2; this command is not loaded"
    )
    assert f"alias-is-name.md:2: name 'x' is taken: it is the alias of 'a' in {a}:4" in errors["alias-is-name.md"]
    assert f"name-is-alias.md:4: alias 'a' is taken: it is the name of 'a' in {a}:2" in errors["name-is-alias.md"]
    assert f"alias-twice.md:4: alias 'x' is taken: it is the alias of 'a' in {a}:4" in errors["alias-twice.md"]


def test_resolve_search_and_suggest(tmp_path: Path) -> None:
    write(tmp_path, "deploy.md", command("aliases: [ship]\ncategory: Deployment", name="deploy"))
    write(tmp_path, "describe.md", command(name="describe", script="echo rollout status"))
    write(tmp_path, "backup.md", command(name="backup"))
    registry = Registry([tmp_path])
    registry.reload()
    assert registry.resolve("ship").name == "deploy"
    assert registry.resolve("deploy") is registry.resolve("ship")
    with pytest.raises(CommandNotFound) as missing:
        registry.resolve("depoly")
    assert missing.value.suggestions[0] == "deploy"
    assert "did you mean deploy" in str(missing.value)
    assert [c.name for c in registry.search("ROLLOUT")] == ["describe"]
    assert [c.name for c in registry.search("deployment")] == ["deploy"]
    assert registry.suggest("de") == ["deploy", "describe"]  # prefixes, then by name
    assert registry.suggest("ack") == ["backup"]  # a substring
    assert registry.suggest("shop") == ["ship"]  # one edit
    assert registry.suggest("zzzz") == []


def test_reload_adds_changes_keeps_the_last_good_version_and_deletes(tmp_path: Path) -> None:
    registry = Registry([tmp_path])
    assert registry.reload() == []
    assert registry.commands() == []

    path = write(tmp_path, "hot.md", command(name="hot"))  # add
    assert registry.reload() == []
    assert registry.resolve("hot").description == "a test command"

    path.write_text(command(name="hot").replace("a test command", "changed"))  # change
    registry.reload()
    assert registry.resolve("hot").description == "changed"

    path.write_text(command("timeout: soon", name="hot").replace("a test command", "broken"))  # break
    errors = registry.reload()
    assert [str(e) for e in errors] == [
        f"{path}:4: timeout: Input should be a valid number, unable to parse string as a number"
    ]
    assert registry.resolve("hot").description == "changed", "the last good version stays in force"

    path.write_text(command(name="hot").replace("a test command", "fixed"))  # fix
    assert registry.reload() == []
    assert registry.resolve("hot").description == "fixed"

    path.unlink()  # delete
    assert registry.reload() == []
    assert registry.get("hot") is None


def test_a_broken_new_file_is_only_reported(tmp_path: Path) -> None:
    write(tmp_path, "new.md", "---\nname: new\n---\n")
    registry = Registry([tmp_path])
    assert [e.problems for e in registry.reload()] == [[(2, "description: Field required")]]
    assert registry.commands() == []


def test_the_holder_of_a_name_keeps_it_when_a_newcomer_claims_it(tmp_path: Path) -> None:
    write(tmp_path, "z-old.md", command(name="dup"))
    registry = Registry([tmp_path])
    registry.reload()
    write(tmp_path, "a-new.md", command(name="dup"))  # earlier in scan order, but later in time
    errors = registry.reload()
    assert registry.resolve("dup").source == str(tmp_path / "z-old.md")
    assert [Path(e.path).name for e in errors] == ["a-new.md"]


async def test_watch_reloads_when_files_change(tmp_path: Path) -> None:
    registry = Registry([tmp_path])
    registry.reload()
    stop = asyncio.Event()
    reloads: list[int] = []
    task = asyncio.create_task(
        registry.watch(stop_event=stop, on_reload=lambda errors: reloads.append(len(errors)), debounce_ms=20)
    )

    async def until(check: Any) -> None:
        for _ in range(200):
            if check():
                return
            await asyncio.sleep(0.025)
        raise AssertionError("the registry did not reload")

    try:
        await asyncio.sleep(0.2)  # the watcher starts
        path = write(tmp_path, "w.md", command(name="watched"))
        await until(lambda: registry.get("watched") is not None)
        path.write_text(command(name="watched").replace("a test command", "v2"))
        await until(lambda: registry.resolve("watched").description == "v2")
        path.write_text("---\nbroken\n")
        await until(lambda: registry.errors)
        assert registry.resolve("watched").description == "v2"
        path.unlink()
        await until(lambda: registry.get("watched") is None)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert reloads


async def test_watch_reloads_once_it_watches_so_no_change_is_lost(tmp_path: Path) -> None:
    registry = Registry([tmp_path])
    registry.reload()
    write(tmp_path, "early.md", command(name="early"))  # after the reload, before the watcher exists
    stop = asyncio.Event()
    task = asyncio.create_task(registry.watch(stop_event=stop, debounce_ms=20))
    try:
        for _ in range(200):
            if registry.get("early") is not None:
                break
            await asyncio.sleep(0.025)
        assert registry.get("early") is not None
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def test_the_settings_folders(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    settings = Settings(home=tmp_path / "home", commands={"dirs": [extra, tmp_path / "home" / "commands"]})
    assert command_dirs(settings) == [project_commands(), tmp_path / "home" / "commands", extra]
    assert command_dirs(
        settings.model_copy(update={"commands": settings.commands.model_copy(update={"builtin": False})})
    )[0] == (tmp_path / "home" / "commands")


def test_the_shipped_commands_and_thesaurus_load() -> None:
    folder = Path(__file__).parents[1] / "commands"
    assert project_commands() == folder
    registry = Registry([folder])
    assert registry.reload() == []
    assert [c.name for c in registry.commands()] == [
        "backup",
        "deploy",
        "hello-world",
        "search",
        "security-audit",
        "test",
    ]
    thesaurus = json.loads((folder / "thesaurus.json").read_text())
    concepts = {entry["nterm"] for entry in thesaurus["data"].values()}
    for c in registry.commands():
        assert set(c.knowledge_graph_required) <= concepts
