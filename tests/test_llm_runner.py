"""Running the code blocks of a model's reply (``run_blocks``) in real namespace sandboxes: order,
state shared between blocks, ``stop_on_failure``, the policy's denials, snapshots and rollback,
retries of a sandbox that died (and no retry of code that failed), the history, and the text fed
back to the model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from airlock import Runtime, Sandbox, SandboxState
from airlock.llm.blocks import extract_code_blocks
from airlock.llm.runner import BlockStatus, run_blocks

OK, FAILED, DENIED, ERROR, SKIPPED, NOT_RUN = (
    BlockStatus.OK,
    BlockStatus.FAILED,
    BlockStatus.DENIED,
    BlockStatus.ERROR,
    BlockStatus.SKIPPED,
    BlockStatus.NOT_RUN,
)

#: Kills the sandbox's agent (process 1 of its pid namespace: SIGINT ends it) the first time it
#: runs, so the sandbox dies under the block; run again, it finds its mark and carries on.
KILL_AGENT_ONCE = """
import os, signal, time
if not os.path.exists("killed-once"):
    open("killed-once", "w").close()
    os.kill(1, signal.SIGINT)
    time.sleep(5)
print("survived")
"""
KILL_AGENT_ALWAYS = "import os, signal, time\nos.kill(1, signal.SIGINT)\ntime.sleep(5)\n"


def reply(*blocks: tuple[str, str]) -> str:
    """A model's reply with these (tag, code) blocks, prose between them."""
    return "\n".join(f"Step {i}:\n```{tag}\n{code.strip()}\n```" for i, (tag, code) in enumerate(blocks, 1))


@pytest.fixture
async def sandbox(ns_runtime: Runtime) -> AsyncIterator[Sandbox]:
    async with ns_runtime.sandbox(language="python") as sb:
        yield sb


async def read(sandbox: Sandbox, path: str) -> str:
    return (await sandbox.read_file(path)).decode()


async def test_blocks_run_in_order_in_one_sandbox_and_share_state(sandbox: Sandbox) -> None:
    text = reply(
        ("python", "x = 41\nopen('log', 'a').write('1')"),
        ("bash", "echo -n 2 >> log"),
        ("py", "open('log', 'a').write('3')\nprint(x + 1)"),
    )

    result = await run_blocks(sandbox, text)

    assert [o.status for o in result.blocks] == [OK, OK, OK]
    assert result.success
    assert result.ran == 3
    assert await read(sandbox, "log") == "123"
    assert result.blocks[2].result is not None
    assert result.blocks[2].result.stdout == "42\n"
    assert {o.result.sandbox_id for o in result.blocks if o.result} == {sandbox.id}


async def test_javascript_and_bash_blocks_keep_their_sessions_between_blocks(sandbox: Sandbox) -> None:
    text = reply(
        ("js", "var y = 6"),
        ("bash", "cd /tmp && export V=7"),
        ("javascript", "console.log(y * 7)"),
        ("sh", "echo $V $PWD"),
    )

    result = await run_blocks(sandbox, text)

    outputs = [o.result.stdout if o.result else None for o in result.blocks]
    assert outputs == ["", "", "42\n", "7 /tmp\n"]


async def test_stop_on_failure_leaves_the_later_blocks_unrun_and_says_so(sandbox: Sandbox) -> None:
    text = reply(("python", "print(1)"), ("python", "1 / 0"), ("python", "open('third', 'w')"))

    result = await run_blocks(sandbox, text)

    assert [o.status for o in result.blocks] == [OK, FAILED, NOT_RUN]
    assert not result.success
    assert result.stopped_early
    assert result.failed is result.blocks[1]
    assert result.blocks[1].result is not None
    assert result.blocks[1].result.error is not None
    assert result.blocks[1].result.error.name == "ZeroDivisionError"
    assert result.blocks[2].result is None
    assert "block 2" in (result.blocks[2].reason or "")
    assert [f.name for f in await sandbox.list_files()] == []


async def test_without_stop_on_failure_every_block_runs(sandbox: Sandbox) -> None:
    text = reply(("python", "print(1)"), ("bash", "exit 3"), ("python", "print(3)"))

    result = await run_blocks(sandbox, text, stop_on_failure=False)

    assert [o.status for o in result.blocks] == [OK, FAILED, OK]
    assert result.blocks[1].result is not None
    assert result.blocks[1].result.exit_code == 3
    assert not result.success
    assert not result.stopped_early


async def test_a_denied_block_runs_nothing_and_is_reported_with_its_verdict(
    ns_runtime: Runtime, sandbox: Sandbox
) -> None:
    text = reply(("python", "print('before')"), ("bash", "echo ran > marker\nrm -rf /"), ("python", "print('after')"))

    result = await run_blocks(sandbox, text, agent_id="denied-agent")

    ok, denied, after = result.blocks
    assert [ok.status, denied.status, after.status] == [OK, DENIED, NOT_RUN]
    assert denied.result is None
    assert denied.verdict is not None
    assert denied.verdict.decision == "deny"
    assert denied.verdict.audit_id is not None  # the policy's decision is in the audit chain
    assert "delete.root" in (denied.reason or "")
    assert "refused by the policy, nothing ran" in result.feedback()
    assert [f.name for f in await sandbox.list_files()] == []  # not even its first line ran
    assert ns_runtime.history is not None
    recorded = await ns_runtime.history.query(agent_id="denied-agent")
    assert [r.code for r in recorded] == ["print('before')\n"]


async def test_every_block_that_runs_is_in_the_history_under_the_agent(ns_runtime: Runtime, sandbox: Sandbox) -> None:
    text = reply(("python", "print(1)"), ("bash", "exit 2"), ("text", "not code"), ("python", "print(3)"))

    await run_blocks(sandbox, text, stop_on_failure=False, agent_id="planner")

    assert ns_runtime.history is not None
    records = await ns_runtime.history.query(agent_id="planner")
    assert [(r.code, r.status) for r in reversed(records)] == [
        ("print(1)\n", "ok"),
        ("exit 2\n", "error"),
        ("print(3)\n", "ok"),
    ]
    assert {r.sandbox_id for r in records} == {sandbox.id}


async def test_rollback_on_failure_restores_the_workspace_from_before_the_block(sandbox: Sandbox) -> None:
    text = reply(
        ("python", "open('a.txt', 'w').write('one')"),
        ("python", "open('a.txt', 'w').write('two')\nopen('b.txt', 'w').write('new')\nraise SystemExit(1)"),
    )
    policy = sandbox.policy

    result = await run_blocks(sandbox, text, rollback_on_failure=True)

    first, second = result.blocks
    assert [first.status, second.status] == [OK, FAILED]
    assert second.result is not None
    assert second.result.rolled_back_to is not None
    assert second.result.rolled_back_to in second.result.snapshots
    assert any("rolled back" in note for note in second.notes)
    assert await read(sandbox, "a.txt") == "one"
    assert [f.name for f in await sandbox.list_files()] == ["a.txt"]
    assert sandbox.policy == policy  # the sandbox's own snapshot policy is back


async def test_snapshot_alone_keeps_the_failed_state(sandbox: Sandbox) -> None:
    text = reply(("python", "open('a.txt', 'w').write('two')\nraise SystemExit(1)"))

    result = await run_blocks(sandbox, text, snapshot=True)

    assert result.blocks[0].result is not None
    assert len(result.blocks[0].result.snapshots) == 1
    assert result.blocks[0].result.rolled_back_to is None
    assert await read(sandbox, "a.txt") == "two"
    assert len(await sandbox.list_snapshots()) == 1


async def test_a_sandbox_that_dies_under_a_block_is_restarted_and_the_block_run_again(sandbox: Sandbox) -> None:
    result = await run_blocks(sandbox, reply(("python", KILL_AGENT_ONCE)), backoff_s=0.01)

    (outcome,) = result.blocks
    assert outcome.status is OK
    assert outcome.attempts == 2
    assert outcome.result is not None
    assert outcome.result.stdout == "survived\n"
    assert "the sandbox died" in outcome.notes[0]
    assert sandbox.state is SandboxState.RUNNING


async def test_retries_stop_at_their_limit_and_the_next_block_gets_a_restarted_sandbox(
    ns_runtime: Runtime, sandbox: Sandbox
) -> None:
    text = reply(("python", KILL_AGENT_ALWAYS), ("python", "print('next')"))

    result = await run_blocks(sandbox, text, retries=1, backoff_s=0.01, stop_on_failure=False, agent_id="dying")

    dead, following = result.blocks
    assert dead.status is FAILED
    assert dead.attempts == 2
    assert dead.result is not None
    assert dead.result.sandbox_died
    assert following.status is OK
    assert any("started again" in note for note in following.notes)
    assert ns_runtime.history is not None
    statuses = [r.status for r in reversed(await ns_runtime.history.query(agent_id="dying"))]
    assert statuses == ["sandbox_died", "sandbox_died", "ok"]  # each attempt is in the history


async def test_failures_of_the_code_itself_are_never_retried(sandbox: Sandbox) -> None:
    text = reply(
        ("python", "open('count', 'a').write('x')\nraise SystemExit(3)"),
        ("python", "import time\ntime.sleep(10)"),
    )

    result = await run_blocks(sandbox, text, stop_on_failure=False, timeout_ms=500, retries=3, backoff_s=0.01)

    exited, slow = result.blocks
    assert exited.attempts == 1
    assert exited.result is not None
    assert exited.result.exit_code == 3
    assert await read(sandbox, "count") == "x"
    assert slow.status is FAILED
    assert slow.attempts == 1
    assert slow.result is not None
    assert slow.result.timed_out


async def test_a_sandbox_stopped_on_purpose_is_not_started_behind_its_owners_back(sandbox: Sandbox) -> None:
    await sandbox.stop()

    result = await run_blocks(sandbox, reply(("python", "print(1)")), backoff_s=0.01)

    (outcome,) = result.blocks
    assert outcome.status is ERROR
    assert "stopped" in (outcome.reason or "")
    assert sandbox.state is SandboxState.STOPPED


async def test_blocks_that_are_not_code_are_skipped_and_unlabeled_ones_run_with_a_default(sandbox: Sandbox) -> None:
    text = "```\nprint('unlabeled')\n```\n```json\n{}\n```\n```python\n   \n```\n```python\nprint('cut off"

    plain = await run_blocks(sandbox, text)
    defaulted = await run_blocks(sandbox, text, default_language="python")

    assert [o.status for o in plain.blocks] == [SKIPPED] * 4
    assert not plain.success  # nothing ran is not a success
    assert plain.ran == 0
    assert "unterminated" in (plain.blocks[3].reason or "")
    assert [o.status for o in defaulted.blocks] == [OK, SKIPPED, SKIPPED, SKIPPED]
    assert "empty" in (defaulted.blocks[2].reason or "")


async def test_blocks_given_as_a_list_run_as_given(sandbox: Sandbox) -> None:
    blocks = extract_code_blocks(reply(("python", "print(1)"), ("python", "print(2)")))

    result = await run_blocks(sandbox, blocks[1:])

    assert [o.block.index for o in result.blocks] == [1]
    assert result.blocks[0].result is not None
    assert result.blocks[0].result.stdout == "2\n"


async def test_the_feedback_cuts_long_output_head_and_tail_with_a_note(sandbox: Sandbox) -> None:
    text = reply(("python", "print('START' + 'x' * 50_000 + 'END')"), ("bash", "echo small"))

    result = await run_blocks(sandbox, text)
    feedback = result.feedback(max_chars=2_000)

    assert len(feedback) < 2_600
    assert "START" in feedback
    assert "END" in feedback
    assert "characters cut" in feedback
    assert "small" in feedback
    assert "[block 1, python, line 2: exit code 0" in feedback
