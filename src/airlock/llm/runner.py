"""Run the code blocks of a model's reply, in order, in one sandbox: ``run_blocks``::

    result = await run_blocks(sandbox, reply, stop_on_failure=True, rollback_on_failure=True)
    for outcome in result.blocks:
        print(outcome.status, outcome.result.stdout if outcome.result else outcome.reason)
    next_message = result.feedback()          # what the model is shown, outputs cut to fit

Each block is an ordinary ``Sandbox.exec``: the sandbox's policy guard judges it first (a denied
block runs nothing and is reported with its verdict), the history records it, and the snapshots of
the sandbox's ``SnapshotPolicy`` are taken around it. On top of that, the seeds' client semantics,
block by block:

    snapshot            when ``snapshot`` or ``rollback_on_failure`` (files only: no REPL memory)
    execute             Python, JavaScript and Bash in the sandbox's persistent REPL context, so a
                        block sees what the blocks before it defined; Rust and Go compile and run
    retry if transient  up to ``retries`` times, after a wait drawn from [0, backoff_s * 2**n]
                        (full jitter, capped at 5 s), the sandbox started again first
    roll back           to the snapshot when the block failed and ``rollback_on_failure``; the
                        sandbox restarts for it, so REPL state is gone after a rollback
    stop                at the first failed, denied or unrunnable block when ``stop_on_failure``;
                        the blocks after it are reported as not run

**Transient** means the infrastructure failed, not the code: the sandbox's agent died while the
block ran (``sandbox_died`` without a timeout or an out-of-memory kill), or ``exec`` raised a
``SandboxError`` or ``ControlTimeout`` (the agent gone or unreachable, a restart that failed) while
the sandbox can still be brought back (not destroyed, not quarantined). **Not transient**, never
retried: a non-zero exit or an exception of the code, a timeout of the code (also when the host
had to kill the sandbox for it), an out-of-memory kill, a policy denial, an invalid request.
A sandbox that died (in an earlier block, or an earlier call) is started again before the next
block runs; one stopped on purpose is not, and its blocks fail with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, computed_field

from airlock.errors import AirlockError, ControlTimeout, InvalidRequest, PolicyDenied, SandboxError
from airlock.llm.blocks import CodeBlock, extract_code_blocks
from airlock.models import USE_DEFAULT, ExecutionResult, SandboxState, SnapshotPolicy, UseDefault, Verdict

if TYPE_CHECKING:
    from airlock.sandbox import Sandbox

__all__ = [
    "DEFAULT_BACKOFF_S",
    "FEEDBACK_CHARS",
    "BlockOutcome",
    "BlockStatus",
    "BlocksResult",
    "clip",
    "run_blocks",
    "skipped",
]

logger = logging.getLogger(__name__)

#: The first retry waits up to this; each next one up to twice as long, never more than 5 s.
DEFAULT_BACKOFF_S = 0.25
_BACKOFF_CAP_S = 5.0
#: How much of the blocks' output ``BlocksResult.feedback`` shows a model, all blocks together.
FEEDBACK_CHARS = 10_000


class BlockStatus(StrEnum):
    OK = "ok"  # it ran and succeeded
    FAILED = "failed"  # it ran: non-zero exit, an exception, a timeout, out of memory, the sandbox died
    DENIED = "denied"  # the policy refused it: nothing ran
    ERROR = "error"  # it could not be run: an invalid request, or an infrastructure failure past its retries
    SKIPPED = "skipped"  # not a block to run (another tag, unlabeled, unterminated, empty)
    NOT_RUN = "not_run"  # a block before it failed, with stop_on_failure


_FAILURES = frozenset({BlockStatus.FAILED, BlockStatus.DENIED, BlockStatus.ERROR})


class BlockOutcome(BaseModel):
    """What became of one block: its ``result`` when it ran (the last attempt's), the policy's
    ``verdict`` (why it was denied, or what allowed it), ``reason`` when it did not run, how many
    ``attempts`` it took, and ``notes`` on retries, restarts and rollbacks."""

    block: CodeBlock
    status: BlockStatus
    result: ExecutionResult | None = None
    verdict: Verdict | None = None
    reason: str | None = None
    attempts: int = 0
    notes: list[str] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def success(self) -> bool:
        return self.status is BlockStatus.OK

    def describe(self, max_chars: int = FEEDBACK_CHARS) -> str:
        """This block as a model is shown it: a header line, the notes, then its output (cut)."""
        block = self.block
        name = block.language or block.tag or "unlabeled"
        lines = [f"[block {block.index + 1}, {name}, line {block.line}: {self._headline()}]"]
        lines += [f"[{note}]" for note in self.notes]
        if self.result is not None:
            lines.append(_output(self.result, max_chars))
        return "\n".join(lines)

    def _headline(self) -> str:
        if self.status is BlockStatus.DENIED:
            reasons = "; ".join(str(r) for r in self.verdict.reasons) if self.verdict else ""
            return f"refused by the policy, nothing ran: {reasons or self.reason}"
        if self.result is None:
            return f"{'could not run' if self.status is BlockStatus.ERROR else 'not run'}: {self.reason}"
        result = self.result
        parts = [f"exit code {result.exit_code}"]
        parts += ["timed out"] if result.timed_out else []
        parts += ["out of memory"] if result.oom_killed else []
        parts += ["the sandbox died"] if result.sandbox_died and not result.timed_out else []
        parts.append(f"{result.execution_time_ms:.0f} ms")
        parts += [f"{self.attempts} attempts"] if self.attempts > 1 else []
        return ", ".join(parts)


class BlocksResult(BaseModel):
    """Every block of a reply, in order. ``success``: at least one block ran and every runnable
    block succeeded (a reply with nothing to run is not a success: ``ran`` is 0)."""

    blocks: list[BlockOutcome] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def success(self) -> bool:
        return self.ran > 0 and self.failed is None and not self.stopped_early

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stopped_early(self) -> bool:
        return any(o.status is BlockStatus.NOT_RUN for o in self.blocks)

    @property
    def ran(self) -> int:
        """How many blocks ran (with a result, whatever it was)."""
        return sum(o.result is not None for o in self.blocks)

    @property
    def runnable(self) -> bool:
        """Whether the reply had any block to run (one in a language Airlock runs)."""
        return any(o.block.language is not None for o in self.blocks)

    @property
    def failed(self) -> BlockOutcome | None:
        """The first block that failed, was denied or could not run."""
        return next((o for o in self.blocks if o.status in _FAILURES), None)

    def feedback(self, max_chars: int = FEEDBACK_CHARS) -> str:
        """Each block's outcome and output, as text for a model; the outputs together are cut to
        about ``max_chars`` (each block's share kept head and tail, with a note of what was cut)."""
        if not self.blocks:
            return "(the reply had no code blocks)"
        share = max(200, max_chars // max(1, self.ran))
        return "\n\n".join(outcome.describe(share) for outcome in self.blocks)


@dataclass(frozen=True)
class _Options:
    timeout_ms: int | UseDefault | None
    agent_id: str | None
    retries: int
    backoff_s: float


async def run_blocks(
    sandbox: Sandbox,
    reply_or_blocks: str | Iterable[CodeBlock],
    *,
    default_language: str | None = None,
    stop_on_failure: bool = True,
    snapshot: bool = False,
    rollback_on_failure: bool = False,
    retries: int = 2,
    agent_id: str | None = None,
    role: str | None = None,
    timeout_ms: int | UseDefault | None = USE_DEFAULT,
    backoff_s: float = DEFAULT_BACKOFF_S,
) -> BlocksResult:
    """Run the blocks of a reply (or the blocks given) in order in ``sandbox``; see the module's
    docstring. ``default_language`` is for unlabeled blocks (without it they are skipped);
    ``role`` is the policy role they are judged for (default: the sandbox's); ``timeout_ms`` is
    each attempt's (default: the settings'; ``None``: no limit). Raises only what cancels it."""
    if retries < 0 or backoff_s < 0:
        raise InvalidRequest("retries and backoff_s cannot be negative")
    if isinstance(reply_or_blocks, str):
        blocks = extract_code_blocks(reply_or_blocks, default_language=default_language)
    else:
        blocks = list(reply_or_blocks)
    options = _Options(timeout_ms, agent_id, retries, backoff_s)
    outcomes: list[BlockOutcome] = []
    stop: str | None = None
    # One run at a time per sandbox: a run sets the sandbox's snapshot policy and role for its
    # blocks and puts them back after, which two overlapping runs would undo in the wrong order.
    async with _RUNS.setdefault(sandbox, asyncio.Lock()):
        saved = sandbox.policy, sandbox.role
        sandbox.policy = _with_snapshots(sandbox.policy, snapshot, rollback_on_failure)
        sandbox.role = role if role is not None else sandbox.role
        try:
            for block in blocks:
                if stop is not None and block.language is not None:
                    outcomes.append(BlockOutcome(block=block, status=BlockStatus.NOT_RUN, reason=stop))
                    continue
                outcome = await _run_one(sandbox, block, options)
                outcomes.append(outcome)
                if stop_on_failure and stop is None and outcome.status in _FAILURES:
                    stop = f"block {block.index + 1} before it failed (stop_on_failure)"
        finally:
            sandbox.policy, sandbox.role = saved
    return BlocksResult(blocks=outcomes)


#: The lock of each sandbox that ``run_blocks`` has run in (gone with the sandbox).
_RUNS: weakref.WeakKeyDictionary[Sandbox, asyncio.Lock] = weakref.WeakKeyDictionary()


def skipped(block: CodeBlock) -> BlockOutcome:
    """The outcome of a block that is not to be run, with the reason ``extract_code_blocks`` gave."""
    return BlockOutcome(block=block, status=BlockStatus.SKIPPED, reason=block.skip_reason)


def _with_snapshots(policy: SnapshotPolicy, snapshot: bool, rollback: bool) -> SnapshotPolicy:
    """The sandbox's own snapshot policy, with what this run asks for added to it."""
    return policy.model_copy(
        update={
            "snapshot_before_exec": policy.snapshot_before_exec or snapshot,
            "auto_rollback_on_failure": policy.auto_rollback_on_failure or rollback,
        }
    )


async def _run_one(sandbox: Sandbox, block: CodeBlock, options: _Options) -> BlockOutcome:
    if block.language is None:
        return skipped(block)
    if not block.code.strip():
        return BlockOutcome(block=block, status=BlockStatus.SKIPPED, reason="empty: there is no code in it")
    notes: list[str] = []
    attempt = 0
    while True:
        attempt += 1
        outcome = await _attempt(sandbox, block, options, attempt, notes)
        if isinstance(outcome, BlockOutcome):
            return outcome
        delay = random.uniform(0, min(_BACKOFF_CAP_S, options.backoff_s * 2 ** (attempt - 1)))  # noqa: S311
        notes.append(f"attempt {attempt}: {outcome}; retried after {delay:.2f} s")
        logger.warning("sandbox %s: block %d: %s; retry %d in %.2f s", sandbox.id, block.index, outcome, attempt, delay)
        await asyncio.sleep(delay)


async def _attempt(
    sandbox: Sandbox, block: CodeBlock, options: _Options, attempt: int, notes: list[str]
) -> BlockOutcome | str:
    """One attempt: the block's outcome, or why it failed transiently (to be retried)."""
    assert block.language is not None
    retry = attempt <= options.retries
    try:
        await _revive(sandbox, notes)
        result = await sandbox.exec(
            block.code, block.language, timeout_ms=options.timeout_ms, agent_id=options.agent_id
        )
    except PolicyDenied as denied:
        status, verdict, reason = BlockStatus.DENIED, denied.verdict, str(denied)
        return BlockOutcome(block=block, status=status, verdict=verdict, reason=reason, attempts=attempt, notes=notes)
    except (SandboxError, ControlTimeout) as exc:
        failure = f"{type(exc).__name__}: {exc}"
        return failure if retry and _recoverable(sandbox) else _error(block, failure, attempt, notes)
    except AirlockError as exc:  # an invalid request, a snapshot that could not be taken: not transient
        return _error(block, f"{type(exc).__name__}: {exc}", attempt, notes)
    if retry and _transient(result):
        return f"the sandbox died: {result.error.value if result.error else 'no reason given'}"
    return _ran(block, result, attempt, notes)


def _transient(result: ExecutionResult) -> bool:
    """The sandbox died under the code, and not for the code's own timeout or memory."""
    return result.sandbox_died and not (result.timed_out or result.oom_killed or result.cancelled)


def _recoverable(sandbox: Sandbox) -> bool:
    return sandbox.state is not SandboxState.DESTROYED and sandbox.quarantined is None


async def _revive(sandbox: Sandbox, notes: list[str]) -> None:
    """Start the sandbox again if it died (not if it was stopped on purpose: that has no error)."""
    if sandbox.state is SandboxState.STOPPED and sandbox.last_error is not None and sandbox.quarantined is None:
        why = sandbox.last_error
        await sandbox.start()
        notes.append(f"the sandbox had stopped ({why}); it was started again, so REPL state from before is gone")


def _ran(block: CodeBlock, result: ExecutionResult, attempts: int, notes: list[str]) -> BlockOutcome:
    if result.rolled_back_to is not None:
        notes.append(
            f"the workspace was rolled back to snapshot {result.rolled_back_to}, taken before this block; "
            "the sandbox restarted for it, so REPL state is gone"
        )
    status = BlockStatus.OK if result.success else BlockStatus.FAILED
    return BlockOutcome(
        block=block, status=status, result=result, verdict=result.verdict, attempts=attempts, notes=notes
    )


def _error(block: CodeBlock, reason: str, attempts: int, notes: list[str]) -> BlockOutcome:
    return BlockOutcome(block=block, status=BlockStatus.ERROR, reason=reason, attempts=attempts, notes=notes)


def _output(result: ExecutionResult, max_chars: int) -> str:
    """A result's output for a model: stdout and stderr, cut to ``max_chars`` with a note."""
    parts = [f"stdout:\n{result.stdout}"] if result.stdout else []
    parts += [f"stderr:\n{result.stderr}"] if result.stderr else []
    text = clip("".join(p if p.endswith("\n") else p + "\n" for p in parts).rstrip("\n"), max_chars)
    if result.output_truncated:
        where = f"; all of it is in {result.output_file_path} in the sandbox" if result.output_file_path else ""
        text += f"\n[the sandbox kept only the first part of this output{where}]"
    return text or "(no output)"


def clip(text: str, max_chars: int) -> str:
    """``text`` if it fits in ``max_chars``, else its head and tail with a note of what was cut."""
    if len(text) <= max_chars:
        return text
    head = max_chars * 2 // 3
    tail = max_chars - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut:,} of {len(text):,} characters cut ...]\n{text[len(text) - tail :]}"
