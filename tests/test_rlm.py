"""The RLM loop against a real loopback model server that plays scripted replies, with the code of
those replies running in real namespace sandboxes and calling the model back through the bridge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from airlock.config import LlmConfig, Settings
from airlock.llm.base import Message
from airlock.llm.client import make_client
from airlock.llm.prices import ModelPrice
from airlock.llm.scripted import Delay, Entry, Fail, ScriptedModelServer
from airlock.rlm import RLM, Limits, RlmResult, Trajectory
from airlock.rlm.trajectory import replay
from airlock.runtime import Runtime

SECRET_KEY = "sk-airlock-test-0123456789abcdef"


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


class Model:
    """A scripted root model (its replies, in order) and sub-model (a function of the prompt), on
    one real server; the root's calls are the ones with a system prompt."""

    def __init__(self, root: Sequence[Entry], sub: Callable[[str], Entry] = lambda prompt: f"echo: {prompt}") -> None:
        self.root = list(root)
        self.sub = sub
        self.root_calls: list[list[Message]] = []
        self.sub_prompts: list[str] = []

    def __call__(self, messages: list[Message], model: str) -> Entry:
        if messages[0]["role"] == "system":
            self.root_calls.append(messages)
            return self.root.pop(0) if self.root else "I have nothing more to say."
        self.sub_prompts.append(messages[-1]["content"])
        return self.sub(messages[-1]["content"])


async def run_rlm(
    runtime: Runtime,
    model: Model,
    context: object = "alpha beta gamma",
    query: str | None = "What is in the context?",
    *,
    limits: Limits | None = None,
    prices: dict[str, ModelPrice] | None = None,
    trajectory: Trajectory | None = None,
    exec_timeout_ms: int = 60_000,
) -> tuple[RlmResult, Trajectory]:
    trajectory = trajectory or Trajectory()
    with ScriptedModelServer(model, api_key=SECRET_KEY) as server:
        config = LlmConfig(
            base_url=server.base_url, model="scripted", api_key=SECRET_KEY, max_retries=0, prices=prices or {}
        )
        client = make_client(config)
        try:
            rlm = RLM(
                runtime, client, limits=limits or Limits(), trajectory=trajectory, exec_timeout_ms=exec_timeout_ms
            )
            result = await rlm.run(context, query)  # type: ignore[arg-type]
        finally:
            await client.aclose()
    return result, trajectory


def events(trajectory: Trajectory, kind: str) -> list[dict[str, object]]:
    return [event for event in trajectory.events if event["event"] == kind]


# -- the protocol ---------------------------------------------------------------------------------


async def test_the_root_model_sees_the_context_s_shape_never_its_content(ns_runtime: Runtime) -> None:
    model = Model([repl("print(len(context), context[:5])"), "FINAL(11 characters)"])
    result, _ = await run_rlm(ns_runtime, model, context="hello world", query="How long is it?")
    assert result.answered
    assert result.reason == "final"
    assert result.answer == "11 characters"
    first = model.root_calls[0]
    assert "REPL" in first[0]["content"]
    assert "llm_query" in first[0]["content"]
    assert "string with 11 total characters" in first[1]["content"]
    assert all("hello world" not in message["content"] for message in first)
    shown = model.root_calls[1][-2]["content"]  # the code's output came back
    assert "REPL output:\n11 hello" in shown


async def test_sub_calls_from_sandboxed_code_cross_the_bridge(ns_runtime: Runtime) -> None:
    code = "a = llm_query('first: ' + context[:5])\nb = llm_query_batched(['x', 'y', 'z'])\nprint(a, b)"
    model = Model([repl(code), "FINAL_VAR(a)"], sub=lambda prompt: prompt.upper())
    result, trajectory = await run_rlm(ns_runtime, model, context="alpha beta")
    assert model.sub_prompts[0] == "first: alpha"
    assert sorted(model.sub_prompts[1:]) == ["x", "y", "z"]
    assert result.reason == "final_var"
    assert result.answer == "FIRST: ALPHA"
    assert "FIRST: ALPHA ['X', 'Y', 'Z']" in events(trajectory, "code")[0]["output"]  # type: ignore[operator]
    assert result.subcalls == 4
    assert len(events(trajectory, "subcall")) == 4
    assert result.usage.calls >= 6  # two root turns and four sub-calls, all counted


async def test_the_answer_dict_ends_the_run(ns_runtime: Runtime) -> None:
    model = Model([repl("answer['content'] = context.split()[1]\nanswer['ready'] = True")])
    result, _ = await run_rlm(ns_runtime, model)
    assert result.reason == "answer"
    assert result.answer == "beta"
    assert result.iterations == 1


async def test_final_var_of_a_missing_name_is_not_an_answer(ns_runtime: Runtime) -> None:
    model = Model(["FINAL_VAR(missing)", repl("found = 'it was here'"), "FINAL_VAR(found)"])
    result, trajectory = await run_rlm(ns_runtime, model)
    assert result.reason == "final_var"
    assert result.answer == "it was here"
    assert result.iterations == 3
    told = model.root_calls[1][-2]["content"]
    assert "no variable 'missing'" in told
    assert any("missing" in str(note["message"]) for note in events(trajectory, "note"))


async def test_final_inside_code_is_code_not_an_answer(ns_runtime: Runtime) -> None:
    model = Model([repl("text = 'FINAL(not this)'\nprint(text)"), "FINAL(this)"])
    result, _ = await run_rlm(ns_runtime, model)
    assert result.answer == "this"
    assert result.iterations == 2


async def test_final_ends_at_its_line(ns_runtime: Runtime) -> None:
    model = Model(["Done.\nFINAL(Paris)\n\nNote (this is prose)"])
    result, _ = await run_rlm(ns_runtime, model)
    assert result.answer == "Paris"


async def test_a_repl_that_restarts_gets_its_scaffold_back(ns_runtime: Runtime) -> None:
    model = Model([repl("import time\ntime.sleep(30)"), repl("print(llm_query('back'), context)"), "FINAL(x)"])
    result, trajectory = await run_rlm(ns_runtime, model, context="the context", exec_timeout_ms=1500)
    outputs = [str(event["output"]) for event in events(trajectory, "code")]
    assert "timed out" in outputs[0]
    assert "echo: back the context" in outputs[1]
    assert any("restarted" in str(note["message"]) for note in events(trajectory, "note"))
    assert result.answered


async def test_with_a_cost_limit_code_may_not_pick_another_model(ns_runtime: Runtime) -> None:
    model = Model([repl("print(llm_query('hi', model='some-unpriced-model')[:6])"), "FINAL(x)"])
    _, trajectory = await run_rlm(ns_runtime, model, limits=Limits(max_cost_usd=1.0))
    assert "Error:" in str(events(trajectory, "code")[0]["output"])
    assert model.sub_prompts == []


async def test_scaffold_names_come_back_after_the_model_clobbers_them(ns_runtime: Runtime) -> None:
    model = Model(
        [repl("llm_query = None\ncontext = 'gone'"), repl("print(llm_query('still here'), context)"), "FINAL(ok)"]
    )
    _, trajectory = await run_rlm(ns_runtime, model, context="the original")
    assert "echo: still here the original" in str(events(trajectory, "code")[1]["output"])


async def test_repl_output_is_cut_for_the_model(ns_runtime: Runtime) -> None:
    model = Model([repl("print('x' * 50_000)"), "FINAL(done)"])
    await run_rlm(ns_runtime, model)
    shown = model.root_calls[1][-2]["content"]
    assert "x" * 20_000 + "... + [" in shown
    assert "x" * 20_001 not in shown


async def test_sub_call_errors_come_back_to_the_code_as_strings(ns_runtime: Runtime) -> None:
    model = Model(
        [repl("r = llm_query('boom')\nprint(type(r).__name__, r[:6])"), "FINAL(fine)"],
        sub=lambda prompt: Fail(400, "bad request"),
    )
    result, trajectory = await run_rlm(ns_runtime, model)
    assert result.answered
    assert "str Error:" in str(events(trajectory, "code")[0]["output"])
    assert events(trajectory, "subcall")[0]["error"]


async def test_rlm_query_recurses_while_depth_allows(ns_runtime: Runtime) -> None:
    child = repl("answer['content'] = 'child saw ' + context\nanswer['ready'] = True")
    model = Model([repl("print(rlm_query('the slice'))"), child, "FINAL(parent done)"])
    result, trajectory = await run_rlm(ns_runtime, model, limits=Limits(max_depth=2))
    assert result.answer == "parent done"
    parent = [event for event in events(trajectory, "code") if event["depth"] == 0]
    assert "child saw the slice" in str(parent[0]["output"])
    assert {event["depth"] for event in events(trajectory, "start")} == {0, 1}


async def test_at_the_depth_limit_rlm_query_is_a_plain_call(ns_runtime: Runtime) -> None:
    model = Model([repl("print(rlm_query('plain'))"), "FINAL(x)"])
    _, trajectory = await run_rlm(ns_runtime, model, limits=Limits(max_depth=1))
    assert "echo: plain" in str(events(trajectory, "code")[0]["output"])
    assert {event["depth"] for event in events(trajectory, "start")} == {0}


# -- budgets ---------------------------------------------------------------------------------------


async def test_max_iterations_stops_with_the_best_answer_so_far(ns_runtime: Runtime) -> None:
    model = Model([repl("answer['content'] = 'partial'")] + [repl("x = 1")] * 5)
    result, _ = await run_rlm(ns_runtime, model, limits=Limits(max_iterations=3))
    assert result.reason == "max_iterations"
    assert result.iterations == 3
    assert result.answer == "partial"
    assert not result.answered


async def test_max_tokens_stops_the_run(ns_runtime: Runtime) -> None:
    model = Model([repl("x = 1")] * 10)
    result, _ = await run_rlm(ns_runtime, model, limits=Limits(max_tokens=500))
    assert result.reason == "max_tokens"
    assert result.usage.total_tokens >= 500
    assert result.iterations < 10


async def test_max_cost_stops_the_run(ns_runtime: Runtime) -> None:
    model = Model([repl("x = 1")] * 10)
    prices = {"scripted": ModelPrice(input_per_m=1_000_000.0, output_per_m=1_000_000.0)}  # $1 a token
    result, _ = await run_rlm(ns_runtime, model, limits=Limits(max_cost_usd=300.0), prices=prices)
    assert result.reason == "max_cost"
    assert result.usage.cost_usd >= 300.0
    assert result.iterations < 10


async def test_max_time_stops_the_run(ns_runtime: Runtime) -> None:
    model = Model([Delay(5.0, "FINAL(too late)")])
    result, _ = await run_rlm(ns_runtime, model, limits=Limits(max_time_s=1.0))
    assert result.reason == "max_time"
    assert result.answer is None
    assert result.elapsed_s < 4.0


async def test_max_errors_stops_after_consecutive_failures(ns_runtime: Runtime) -> None:
    model = Model([repl("1 / 0")] * 10)
    result, _ = await run_rlm(ns_runtime, model, limits=Limits(max_errors=3))
    assert result.reason == "max_errors"
    assert result.iterations == 3


async def test_a_spent_budget_refuses_sub_calls_as_strings(ns_runtime: Runtime) -> None:
    code = "rs = [llm_query('q' * 400) for _ in range(5)]\nprint(sum(r.startswith('Error') for r in rs))"
    model = Model([repl(code), "FINAL(x)"])
    result, trajectory = await run_rlm(ns_runtime, model, limits=Limits(max_tokens=400))
    assert result.reason == "max_tokens"
    refused = int(str(events(trajectory, "code")[0]["output"]).split()[-1])
    assert refused >= 3  # the first call or two spent it; the rest were refused, not crashed


# -- safety ----------------------------------------------------------------------------------------


async def test_malicious_code_in_a_reply_is_judged_by_the_policy(ns_runtime: Runtime) -> None:
    model = Model([repl("import shutil\nshutil.rmtree('/')"), repl("print('the REPL', 'goes on')"), "FINAL(x)"])
    result, trajectory = await run_rlm(ns_runtime, model)
    refused, after = events(trajectory, "code")
    assert str(refused["output"]).startswith("Refused by the policy (nothing ran)")
    assert refused["exit_code"] is None
    assert "the REPL goes on" in str(after["output"])
    assert result.answered
    told = model.root_calls[1][-2]["content"]
    assert "Refused by the policy" in told  # the model learns why


async def test_no_api_key_or_host_secret_is_visible_in_the_sandbox(
    ns_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_SECRET_TOKEN", "host-secret-value-42")
    hunt = """
import os
needles = [b'sk-airlock-test', b'host-secret-value']
found = []
for key, value in os.environ.items():
    if any(n.decode() in value for n in needles):
        found.append('env:' + key)
for pid in os.listdir('/proc'):
    if pid.isdigit():
        for name in ('cmdline', 'environ'):
            try:
                data = open(f'/proc/{pid}/{name}', 'rb').read()
            except OSError:
                continue
            if any(n in data for n in needles):
                found.append(f'/proc/{pid}/{name}')
for top in ('/workspace', '/tmp', '/run/airlock', '/etc'):
    for root, dirs, files in os.walk(top):
        for f in files:
            try:
                data = open(os.path.join(root, f), 'rb').read(1 << 20)
            except OSError:
                continue
            if any(n in data for n in needles):
                found.append(os.path.join(root, f))
print('LEAKS', found)
"""
    model = Model([repl(hunt), "FINAL(x)"])
    _, trajectory = await run_rlm(ns_runtime, model)
    output = str(events(trajectory, "code")[0]["output"])
    assert "LEAKS []" in output, output


# -- trajectories and the CLI ----------------------------------------------------------------------


async def test_the_trajectory_is_json_lines_and_replays(ns_runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    trajectory = Trajectory(path)
    model = Model([repl("print(llm_query('hi'))"), "FINAL(bye)"])
    await run_rlm(ns_runtime, model, trajectory=trajectory)
    trajectory.close()
    kinds = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    assert {"turn", "code", "subcall"} <= set(kinds)
    text = "\n".join(replay(path))
    assert "turn 1" in text
    assert "llm_query" in text
    assert "end: final" in text
    assert "= bye" in text


def test_airlock_rlm_cli_answers_and_replays(settings: Settings, tmp_path: Path) -> None:
    context = tmp_path / "context.json"
    context.write_text(json.dumps(["one", "two", "three"]))
    model = Model([repl("print(len(context))"), "FINAL(three items)"])
    trajectory = tmp_path / "t.jsonl"
    with ScriptedModelServer(model) as server:
        env = {
            **os.environ,
            "AIRLOCK_HOME": str(settings.home),
            "AIRLOCK_SANDBOX_ROOT": str(settings.sandbox_root),
            "AIRLOCK_LLM__BASE_URL": server.base_url,
            "AIRLOCK_LLM__MODEL": "scripted",
        }
        command = [sys.executable, "-m", "airlock", "rlm", "--context", str(context), "--query", "How many?"]
        done = subprocess.run(
            [*command, "--trajectory", str(trajectory)], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "three items"
    assert "turn 2/30" in done.stderr  # progress
    replayed = subprocess.run(
        [sys.executable, "-m", "airlock", "rlm", "replay", str(trajectory)], env=env, capture_output=True, text=True
    )
    assert replayed.returncode == 0
    assert "end: final" in replayed.stdout


def test_the_eval_harness_scores_the_scripted_model(tmp_path: Path) -> None:
    """``benchmarks/rlm_eval.py`` with no endpoint: its tasks, scoring and bridge figure run end to end."""
    bench = Path(__file__).parent.parent / "benchmarks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_LLM__")}
    command = [sys.executable, "rlm_eval.py", "--min-exp", "13", "--max-exp", "16", "--bridge-rounds", "20"]
    done = subprocess.run(command, cwd=bench, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "SCRIPTED model" in done.stdout
    # the scripted plain call sees 2^15 tokens: it finds the needle up to there, and misses past it
    assert "mean niah: plain 1.00, rlm 1.00" in done.stdout
    assert "count     2^16 plain    0.00" in done.stdout
    assert "count     2^16 rlm      1.00" in done.stdout
    assert "bridge overhead per sub-call" in done.stdout
