"""The Recursive Language Model loop (Zhang, Kraska and Khattab, 2025), on an Airlock sandbox.

The context never enters the root model's window: it is the variable ``context`` of a persistent
Python REPL in a sandbox, and the model sees only its shape. Each turn the model writes ``repl``
blocks; they run in the REPL (judged by the policy and recorded in the history like any other
execution), and their output, cut to ``Limits.output_chars``, goes back to the model. Code in the
REPL calls the model itself with ``llm_query``, ``llm_query_batched`` and ``rlm_query``, through the
sandbox's bridge (a Unix socket with a per-run token: no network, no API key inside).

A run ends with an answer when the code sets ``answer["ready"] = True``, or the reply says
``FINAL(...)`` or ``FINAL_VAR(name)`` of a variable that exists (one that does not is no answer: the
model is told and the run goes on). It ends without one when a limit runs out, with that limit's
name as the reason and the best answer so far (``answer["content"]``, if the code wrote one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airlock.errors import ModelError, PolicyDenied, SandboxError
from airlock.llm.base import ChatModel, Completion, Message, Usage
from airlock.llm.blocks import extract_code_blocks
from airlock.models import ExecutionResult, new_ulid
from airlock.rlm import prompts
from airlock.rlm.bridge import Bridge, BridgeCall
from airlock.rlm.budget import Budget, Limits, Stop
from airlock.rlm.trajectory import Trajectory

if TYPE_CHECKING:
    from airlock.runtime import Runtime
    from airlock.sandbox import Sandbox

__all__ = ["ANSWERED", "RLM", "SCAFFOLD", "RlmResult"]

ANSWERED = frozenset({"answer", "final", "final_var"})
#: Names the loop puts in the REPL and puts back after every block (the model may clobber them).
SCAFFOLD = ("context", "llm_query", "llm_query_batched", "rlm_query", "SHOW_VARS", "FINAL_VAR")
_FINAL_VAR = re.compile(r"^\s*FINAL_VAR\(\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?\s*\)\s*$", re.M)
_FINAL = re.compile(r"^\s*FINAL\((.*)\)[ \t]*$", re.M)  # on one line: prose may follow it
_FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[ \t]*$", re.M | re.S)


class _Abort(Exception):
    """The loop's own use of the sandbox failed (it died, or the policy refused the loop's code):
    the run ends with ``reason``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass
class RlmResult:
    answer: str | None
    #: ``answer``, ``final`` or ``final_var`` when answered; else the limit or failure that ended it:
    #: ``max_iterations``, ``max_tokens``, ``max_time``, ``max_cost``, ``max_errors``, ``model_error``,
    #: ``sandbox_error`` (the sandbox died under the loop), ``policy_denied`` (the loop's own code).
    reason: str
    detail: str = ""
    iterations: int = 0
    usage: Usage = field(default_factory=Usage)  #: every model call of the run and its sub-runs
    subcalls: int = 0
    elapsed_s: float = 0.0
    run_id: str = ""

    @property
    def answered(self) -> bool:
        return self.reason in ANSWERED


class RLM:
    """``await RLM(runtime, model).run(context, query)``. ``sub_model`` answers the sub-calls
    (default: ``model``); ``backend`` and ``role`` choose the sandbox and the policy role its code
    is judged for; ``trajectory`` receives every event."""

    def __init__(
        self,
        runtime: Runtime,
        model: ChatModel,
        *,
        sub_model: ChatModel | None = None,
        limits: Limits | None = None,
        trajectory: Trajectory | None = None,
        backend: str | None = None,
        role: str | None = None,
        exec_timeout_ms: int = 60_000,
    ) -> None:
        self.runtime = runtime
        self.model = model
        self.sub_model = sub_model or model
        self.limits = limits or Limits()
        self.trajectory = trajectory or Trajectory()
        self.backend = backend
        self.role = role
        self.exec_timeout_ms = exec_timeout_ms

    async def run(self, context: str | list[Any] | dict[str, Any], query: str | None = None) -> RlmResult:
        """Answer ``query`` about ``context`` (a string, a list or a dict of JSON values)."""
        _check_context(context)
        budget = Budget(self.limits)
        async with self.runtime.sandbox(language="python", backend=self.backend) as sandbox:
            sandbox.role = self.role
            return await _Run(self, sandbox, budget, depth=0).run(context, query)


class _Run:
    """One run (the root or a child started by ``rlm_query``): its REPL context, bridge and turns."""

    def __init__(self, rlm: RLM, sandbox: Sandbox, budget: Budget, *, depth: int) -> None:
        self.rlm = rlm
        self.sandbox = sandbox
        self.budget = budget
        self.depth = depth
        self.id = new_ulid().lower()
        self.repl = f"rlm-{self.id}"
        self.bridge = Bridge(sandbox, self._subcall, max_concurrent=rlm.limits.max_concurrent)
        self.iterations = 0
        self.best: str | None = None  #: ``answer["content"]`` as the code last left it
        self.ready = False  #: ``answer["ready"]`` as the code last left it
        self.context_file = f".airlock-rlm/{self.id}.json"

    def emit(self, event: str, **fields: Any) -> None:
        self.rlm.trajectory.emit(event, run=self.id, depth=self.depth, **fields)

    # -- the loop ---------------------------------------------------------------------------------
    async def run(self, context: Any, query: str | None) -> RlmResult:
        limits = self.rlm.limits
        self.emit(
            "start",
            query=query,
            context=prompts.describe_context(context),
            model=self.rlm.model.model,
            limits=limits.__dict__,
        )
        await self.bridge.start()
        try:
            await self._load(context)
            result = await self._turns(context, query)
        except _Abort as abort:
            result = self._stop(abort.reason, abort.detail)
        finally:
            await self.bridge.aclose()
            if self.depth > 0:  # a child's REPL and context file go with it; the root's with its sandbox
                await self._forget()
        result.iterations, result.run_id = self.iterations, self.id
        result.usage, result.subcalls = self.budget.usage, self.budget.subcalls
        result.elapsed_s = round(self.budget.elapsed_s, 3)
        self.emit(
            "end",
            reason=result.reason,
            detail=result.detail,
            answer=result.answer,
            iterations=result.iterations,
            subcalls=result.subcalls,
            tokens=result.usage.total_tokens,
            cost_usd=result.usage.cost_usd,
            elapsed_s=result.elapsed_s,
        )
        return result

    async def _turns(self, context: Any, query: str | None) -> RlmResult:
        limits = self.rlm.limits
        messages: list[Message] = [
            {
                "role": "system",
                "content": prompts.system_prompt(
                    context, output_chars=limits.output_chars, depth=self.depth, max_depth=limits.max_depth
                ),
            },
            {"role": "user", "content": prompts.describe_context(context)},
            prompts.first_turn(query),
        ]
        errors = 0
        while True:
            if self.iterations >= limits.max_iterations:
                return self._stop("max_iterations", f"{self.iterations} turns without an answer")
            if (stop := self.budget.exhausted()) is not None:
                return self._stop(stop.reason, str(stop))
            self.iterations += 1
            try:
                reply = await self._ask(messages)
            except Stop as ran_out:
                return self._stop(ran_out.reason, str(ran_out))
            except ModelError as exc:
                return self._stop("model_error", str(exc))
            messages.append({"role": "assistant", "content": reply.text})
            failed, outputs = await self._run_blocks(reply.text)
            messages.extend(outputs)
            if (done := await self._answered(reply.text, messages)) is not None:
                return done
            errors = errors + 1 if failed else 0
            if limits.max_errors is not None and errors >= limits.max_errors:
                return self._stop("max_errors", f"{errors} turns in a row whose code failed")
            messages.append(prompts.next_turn(query, self.iterations + 1, limits.max_iterations))

    async def _forget(self) -> None:
        with contextlib.suppress(SandboxError, OSError):
            await self.sandbox.reset_context("python", self.repl)
            await self.sandbox.delete_file(self.context_file)

    def _stop(self, reason: str, detail: str) -> RlmResult:
        return RlmResult(answer=self.best, reason=reason, detail=detail)

    async def _ask(self, messages: list[Message]) -> Completion:
        """One root-model turn, within what is left of the time budget."""
        completion = await self._within_time(self.rlm.model.complete(messages))
        self.budget.spend(completion.usage)
        self.emit(
            "turn",
            iteration=self.iterations,
            reply=completion.text,
            tokens=completion.usage.total_tokens,
            cost_usd=completion.usage.cost_usd,
            latency_ms=round(completion.latency_ms, 1),
        )
        return completion

    async def _within_time(self, call: Coroutine[Any, Any, Completion]) -> Completion:
        """A model call cut off when the run's time is up (``Stop("max_time")``)."""
        remaining = self.budget.remaining_s()
        if remaining is None:
            return await call
        try:
            return await asyncio.wait_for(call, timeout=max(remaining, 0.001))
        except TimeoutError:
            limit = self.rlm.limits.max_time_s
            raise Stop("max_time", f"the time budget of {limit} s ran out during a model call") from None

    # -- code ---------------------------------------------------------------------------------------
    async def _run_blocks(self, reply: str) -> tuple[bool, list[Message]]:
        """Run the reply's Python blocks in order; whether any failed, and what the model is shown."""
        outputs: list[Message] = []
        failed = False
        for block in extract_code_blocks(reply, default_language="python"):  # unlabeled: REPL code
            if block.language != "python":
                why = block.skip_reason or f"{block.language} is not the REPL's language"
                note = f"a ```{block.tag} block was not run ({why}): only ```repl (Python) blocks run in the REPL"
                self.emit("note", iteration=self.iterations, message=note)
                outputs.append({"role": "user", "content": note})
                continue
            output, ok = await self._exec(block.code)
            failed = failed or not ok
            outputs.append(prompts.code_result(block.code, output, await self._variables()))
        return failed, outputs

    async def _exec(self, code: str) -> tuple[str, bool]:
        """Run ``code`` in the REPL; its output as the model sees it, and whether it succeeded."""
        limit = self.rlm.limits.output_chars
        timeout = self.rlm.exec_timeout_ms
        if (remaining := self.budget.remaining_s()) is not None:
            timeout = max(1, min(timeout, int(remaining * 1000)))
        try:
            result = await self._in_repl(code, timeout)
        except PolicyDenied as denied:
            reasons = "; ".join(reason.message for reason in denied.verdict.reasons) or str(denied)
            output = f"Refused by the policy (nothing ran): {reasons}"
            self.emit("code", iteration=self.iterations, code=code, output=output, exit_code=None, ms=0.0)
            return output, False
        output = result.stdout + (("\n" if result.stdout else "") + result.stderr if result.stderr else "")
        if result.timed_out:
            output += f"\n[timed out after {timeout} ms: the REPL restarted, its variables are gone]"
        self.emit(
            "code",
            iteration=self.iterations,
            code=code,
            output=output,
            exit_code=result.exit_code,
            ms=round(result.execution_time_ms, 1),
        )
        return prompts.clip(output, limit), result.success

    async def _load(self, context: Any) -> None:
        """Put ``context`` and the scaffold in the REPL."""
        await self.sandbox.make_dir(".airlock-rlm")
        await self.sandbox.write_file(self.context_file, json.dumps(context, ensure_ascii=False))
        await self._scaffold()

    async def _scaffold(self) -> None:
        output, ok = await self._quiet(_SETUP.replace("{path}", json.dumps(self.context_file)))
        if not ok:
            raise _Abort("sandbox_error", f"the RLM scaffold did not load in the sandbox: {output[-2000:]}")

    async def _quiet(self, code: str) -> tuple[str, bool]:
        """Run the loop's own code in the REPL (not shown to the model): its stdout and stderr, and
        whether it succeeded. A refusal or a failed sandbox ends the run."""
        try:
            result = await self._in_repl(code, 30_000)
        except PolicyDenied as denied:
            raise _Abort("policy_denied", f"the policy refused the loop's own code: {denied}") from denied
        return result.stdout + result.stderr, result.success

    async def _in_repl(self, code: str, timeout_ms: int) -> ExecutionResult:
        """``code`` run in this run's REPL with the bridge's env; a failed sandbox ends the run."""
        try:
            return await self.sandbox.exec(
                code, "python", context=self.repl, env=self.bridge.env, timeout_ms=timeout_ms, agent_id=f"rlm:{self.id}"
            )
        except SandboxError as exc:
            raise _Abort("sandbox_error", f"the sandbox failed under the run: {exc}") from exc

    async def _report(self, code: str) -> dict[str, Any]:
        """Run one of the loop's snippets that prints a marked JSON line; that line, parsed ({} when
        it printed none: another line of the model's threads cannot be taken for it)."""
        output, _ = await self._quiet(code)
        for line in reversed(output.splitlines()):
            if line.startswith(_MARK):
                try:
                    report = json.loads(line[len(_MARK) :])
                except json.JSONDecodeError:
                    return {}
                return report if isinstance(report, dict) else {}
        return {}

    async def _variables(self) -> list[str]:
        """Put the scaffold back; the model's variable names (and the answer dict, kept as the best
        so far). A REPL that restarted (a timeout, a crash) gets its scaffold again."""
        status = await self._report(_STATUS)
        if status.get("lost"):
            await self._scaffold()
            note = "the REPL restarted (a timeout or a crash): its variables are gone; context and the helpers are back"
            self.emit("note", iteration=self.iterations, message=note)
            status = await self._report(_STATUS)
        content = status.get("content")
        if isinstance(content, str) and content:
            self.best = content
        self.ready = bool(status.get("ready"))
        variables = status.get("variables", [])
        return [str(name) for name in variables] if isinstance(variables, list) else []

    # -- answers -----------------------------------------------------------------------------------
    async def _answered(self, reply: str, messages: list[Message]) -> RlmResult | None:
        if self.ready:
            return RlmResult(answer=self.best or "", reason="answer")
        prose = _FENCED.sub("", reply)  # FINAL inside code is code, not an answer
        if match := _FINAL_VAR.search(prose):
            name = match.group(1)
            found = await self._report(_LOOKUP.replace("{name}", json.dumps(name)))
            if found.get("found"):
                return RlmResult(answer=str(found.get("value")), reason="final_var")
            note = f"FINAL_VAR({name}): there is no variable {name!r} in the REPL, so this is not an answer yet."
            self.emit("note", iteration=self.iterations, message=note)
            messages.append({"role": "user", "content": note + " Make it in a repl block first."})
            return None
        if match := _FINAL.search(prose):
            return RlmResult(answer=_unquote(match.group(1)), reason="final")
        return None

    # -- the bridge's calls ------------------------------------------------------------------------
    async def _subcall(self, call: BridgeCall) -> str:
        """A call from the REPL's code: a plain model call, or a child run while depth allows."""
        limits = self.rlm.limits
        if (stop := self.budget.exhausted()) is not None:
            raise Stop(stop.reason, f"the run's budget is spent ({stop})")
        configured = {self.rlm.model.model, self.rlm.sub_model.model}
        if limits.max_cost_usd is not None and call.model is not None and call.model not in configured:
            raise ValueError(
                f"with a cost limit, sub-calls may use only the configured models ({', '.join(sorted(configured))})"
            )
        self.budget.subcalls += 1
        prompt = call.prompt or ""
        if call.op == "rlm_query" and self.depth + 1 < limits.max_depth:
            child = _Run(self.rlm, self.sandbox, self.budget, depth=self.depth + 1)
            result = await child.run(prompt, None)
            if result.answer is None:
                raise RuntimeError(f"the sub-run ended without an answer ({result.reason}: {result.detail})")
            return result.answer
        started = self.budget.elapsed_s
        try:
            request = self.rlm.sub_model.complete([{"role": "user", "content": prompt}], model=call.model)
            completion = await self._within_time(request)
        except Exception as exc:
            self.emit(
                "subcall",
                op=call.op,
                prompt_chars=len(prompt),
                reply_chars=0,
                error=f"{type(exc).__name__}: {exc}",
                ms=round((self.budget.elapsed_s - started) * 1000, 1),
            )
            raise
        self.budget.spend(completion.usage)
        self.emit(
            "subcall",
            op=call.op,
            model=completion.model,
            prompt_chars=len(prompt),
            reply_chars=len(completion.text),
            tokens=completion.usage.total_tokens,
            cost_usd=completion.usage.cost_usd,
            ms=round((self.budget.elapsed_s - started) * 1000, 1),
        )
        return completion.text


def _unquote(text: str) -> str:
    text = text.strip()
    for quote in ('"""', "'''", '"', "'"):
        if len(text) >= 2 * len(quote) and text.startswith(quote) and text.endswith(quote):
            return text[len(quote) : -len(quote)].strip()
    return text


def _check_context(context: object) -> None:
    if not isinstance(context, (str, list, dict)):
        raise TypeError(f"the context must be a str, list or dict, not {type(context).__name__}")
    try:
        json.dumps(context)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the context must be JSON data (str, numbers, lists, dicts): {exc}") from exc


#: Loads the context and defines the scaffold; ``airlock_llm`` (an agent module in every sandbox)
#: keeps the originals so that ``_STATUS`` can put them back.
_SETUP = """\
import json as _json
import airlock_llm as _airlock_llm

with open({path}, encoding="utf-8") as _file:
    context = _json.load(_file)


def llm_query(prompt, model=None):
    return _airlock_llm.llm_query(prompt, model)


def llm_query_batched(prompts, model=None):
    return _airlock_llm.llm_query_batched(prompts, model)


def rlm_query(prompt, model=None):
    return _airlock_llm.rlm_query(prompt, model)


def SHOW_VARS():
    return sorted(n for n, v in globals().items() if not n.startswith("_") and n not in _airlock_llm.scaffold
                  and not callable(v) and type(v).__name__ != "module")


def FINAL_VAR(name):
    return globals()[name]


answer = {"content": "", "ready": False}
_airlock_llm.scaffold = {n: globals()[n] for n in SCAFFOLD}
""".replace("SCAFFOLD", repr(SCAFFOLD))

#: What the loop's snippets print their JSON after, on a line of its own.
_MARK = "@@airlock-rlm@@ "

_STATUS = """\
import json as _json, airlock_llm as _airlock_llm
if getattr(_airlock_llm, "scaffold", None) is None:  # a new REPL process: the scaffold is gone
    print("MARK" + _json.dumps({"lost": True}))
else:
    globals().update(_airlock_llm.scaffold)
    if not isinstance(globals().get("answer"), dict):
        answer = {"content": str(globals().get("answer", "")), "ready": False}
    print("MARK" + _json.dumps({"ready": answer.get("ready") is True, "content": str(answer.get("content", "")),
                                "variables": SHOW_VARS()}))
""".replace("MARK", repr(_MARK)[1:-1])

_LOOKUP = """\
import json as _json
print("MARK" + _json.dumps({"found": {name} in globals(), "value": str(globals().get({name}, ""))}))
""".replace("MARK", repr(_MARK)[1:-1])
