"""What the root model is told: the protocol (a system prompt), the context's shape (never its
content), and each turn's nudge. After the RLM paper's Appendix C.1 and its reference
implementation, with both ways to answer: ``FINAL(...)``/``FINAL_VAR(name)`` and the newer
``answer`` dict."""

from __future__ import annotations

import json
from typing import Any

from airlock.llm.base import Message

__all__ = ["SYSTEM_PROMPT", "clip", "code_result", "describe_context", "first_turn", "next_turn", "system_prompt"]

SYSTEM_PROMPT = """\
You are tasked with answering a query about a context that you cannot read directly: it is too \
large for your window. It lives in a Python REPL as the variable `context`, and you work on it by \
writing code. You will be queried iteratively until you give a final answer.

The REPL (a sandbox with no network) gives you:
1. `context`: the data ({context_type}). Look at it before you answer: print slices, its length, \
its structure.
2. `llm_query(prompt, model=None) -> str`: asks a language model that can read about {sub_chars} \
characters. Use it on chunks of `context` too large to print, to extract, classify or summarise.
3. `llm_query_batched(prompts, model=None) -> list[str]`: many `llm_query` calls at once \
(concurrently, answers in the order of the prompts). Much faster than a loop of `llm_query`.
4. `rlm_query(prompt, model=None) -> str`: hands a sub-problem to a recursive run like this one, \
whose `context` is `prompt`{depth_note}.
5. `SHOW_VARS()`: the variables you have made.
6. `answer`: a dict `{{"content": "", "ready": False}}`. Build your answer in `answer["content"]`; \
set `answer["ready"] = True` when it is final.
7. `print(...)`: the only way to see values. Output over {output_chars} characters is cut, so \
print summaries, not whole chunks.

Write code in fenced blocks tagged `repl`:
```repl
chunk = context[:10000]
print(llm_query(f"List every date mentioned here:\\n{{chunk}}"))
```
Several blocks in one reply run in order; variables persist between replies. Sub-call errors come \
back as strings that start with "Error:". Sub-calls cost time and money: prefer a few large \
chunks (batched) to thousands of tiny calls.

When you are done, end the run in one of these ways:
- set `answer["ready"] = True` in code, with the answer in `answer["content"]`;
- write FINAL(your answer) on a line of its own, outside code;
- write FINAL_VAR(name) on a line of its own, outside code, to answer with the value of the REPL \
variable `name` (it must exist: make it in a repl block first).
Do not answer before you have looked at the context. Think step by step, plan, then act."""


def system_prompt(context: Any, *, output_chars: int, depth: int, max_depth: int, sub_chars: int = 100_000) -> str:
    if depth + 1 < max_depth:
        depth_note = " (it has its own REPL and may call models too)"
    else:
        depth_note = " (at this depth it is a plain model call, like `llm_query`)"
    return SYSTEM_PROMPT.format(
        context_type=_type_name(context),
        sub_chars=f"{sub_chars:,}",
        depth_note=depth_note,
        output_chars=f"{output_chars:,}",
    )


def describe_context(context: Any) -> str:
    """Its type, total length and chunk lengths: the only view of the context the root model gets."""
    if isinstance(context, str):
        lengths = [len(context)]
    elif isinstance(context, dict):
        lengths = [len(_text(value)) for value in context.values()]
    else:
        lengths = [len(_text(item)) for item in context]
    shown = ", ".join(str(n) for n in lengths[:100])
    if len(lengths) > 100:
        shown += f", ... [{len(lengths) - 100} others]"
    keys = ""
    if isinstance(context, dict):
        names = [str(key) for key in list(context)[:20]]
        keys = f" Its keys include: {', '.join(names)}{', ...' if len(context) > 20 else ''}."
    return (
        f"Your context is a {_type_name(context)} with {sum(lengths):,} total characters, "
        f"and is broken up into chunks of char lengths: [{shown}].{keys}"
    )


def first_turn(query: str | None) -> Message:
    ask = f'Your query: "{query}"\n\n' if query else "Your task is described in the context itself.\n\n"
    return {
        "role": "user",
        "content": ask + "You have not looked at the context yet: start by examining it in the REPL; "
        "do not answer yet. Your next action:",
    }


def next_turn(query: str | None, turn: int, max_turns: int) -> Message:
    ask = f'answer the query: "{query}"' if query else "do the task the context describes"
    return {
        "role": "user",
        "content": f"Turn {turn}/{max_turns}. The messages above are your earlier work in the REPL. "
        f"Keep using it to {ask}. Your next action:",
    }


def code_result(code: str, output: str, variables: list[str]) -> Message:
    return {
        "role": "user",
        "content": f"Code executed:\n```python\n{code}\n```\n\nREPL output:\n{output}\n"
        f"REPL variables: {json.dumps(variables)}",
    }


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    return text if len(text) <= limit else f"{text[:limit]}... + [{len(text) - limit} chars...]"


def _type_name(context: Any) -> str:
    if isinstance(context, str):
        return "string"
    if isinstance(context, dict):
        return "dict"
    return "list"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
