"""Long-context tasks of the RLM paper's kinds, scored for an RLM and for the plain model call on
the same endpoint in the same run; and the model bridge's own cost per sub-call.

    .venv/bin/python benchmarks/rlm_eval.py [--tasks niah,count] [--min-exp 13] [--max-exp 18]

Tasks (generated, seeded):
  niah   a needle in a haystack (RULER's S-NIAH): one "special magic number" sentence at a random
         depth of 2^13 .. 2^18 tokens of filler; scored 1 when the answer holds the number
  count  OOLONG-style counting: labelled question records whose label is only in their meaning;
         "how many are about <label>?"; scored 0.75^|answer - truth|

The endpoint is ``[llm]``'s, from the environment like the CLI's (``AIRLOCK_LLM__BASE_URL``,
``AIRLOCK_LLM__MODEL``, ``AIRLOCK_LLM__API_KEY``, ``AIRLOCK_LLM__SUB_MODEL``, ...). With none set it
runs against ``ScriptedModelServer`` playing a scripted model: a root that chunks the context and
batches sub-calls, sub-calls that read their chunk, and a plain call that sees only its first
2^15 tokens (a window). Those scores test the harness, not any model: the table says so.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from _common import percentile, private_dirs
from bridge import measure as measure_bridge

from airlock import Runtime, Settings
from airlock.config import LlmConfig
from airlock.llm.base import ChatModel, Message
from airlock.llm.client import make_client
from airlock.llm.scripted import ScriptedModelServer
from airlock.rlm import RLM, Limits

CHARS_PER_TOKEN = 4
WINDOW_CHARS = 2**15 * CHARS_PER_TOKEN  #: the scripted plain call's window
CHUNK_CHARS = 100_000  #: what the scripted root gives each sub-call

#: The haystack's filler words.
_FILLER = (
    "the river carried old stories past quiet towns while farmers counted seasons by the colour of the hills "
    "and travellers wrote letters about bread markets weather bridges music lanterns harvests and roads"
)
WORDS = _FILLER.split()
LABELS: dict[str, list[str]] = {
    "location": ["Where is the tallest tower in {x}?", "In which country is {x} found?", "Where does {x} flow?"],
    "person": ["Who painted the portrait of {x}?", "Who was the first mayor of {x}?", "Who wrote about {x}?"],
    "number": ["How many bridges cross {x}?", "What year was {x} founded?", "How far is {x} from the coast?"],
    "description": ["Why is {x} famous?", "What does {x} mean?", "How does {x} work?"],
}
KEYWORDS = {"location": ("Where", "In which"), "person": ("Who",), "number": ("How many", "What year", "How far")}
KEYWORDS["description"] = ("Why", "What does", "How does")
NAMES = ["Aldmere", "Brightwater", "Corvin", "Dunmore", "Elsewick", "Fairhaven", "Glenrock", "Hollowford"]


@dataclass
class Task:
    kind: str
    tokens: int
    context: str | list[str]
    query: str
    truth: str

    def score(self, answer: str | None) -> float:
        if answer is None:
            return 0.0
        if self.kind == "niah":
            return 1.0 if self.truth in answer else 0.0
        numbers = re.findall(r"-?\d+", answer)
        return 0.75 ** abs(int(numbers[-1]) - int(self.truth)) if numbers else 0.0


def niah(tokens: int, rng: random.Random) -> Task:
    key, number = rng.choice(NAMES), str(rng.randrange(1_000_000, 9_999_999))
    needle = f" The special magic number for {key} is {number}. "
    words: list[str] = []
    size = 0
    while size < tokens * CHARS_PER_TOKEN - len(needle):
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    at = rng.randrange(len(words))
    haystack = " ".join(words[:at]) + needle + " ".join(words[at:])
    query = f"What is the special magic number for {key}? Answer with the number only."
    return Task("niah", tokens, haystack, query, number)


def count(tokens: int, rng: random.Random) -> Task:
    target = rng.choice(list(LABELS))
    records: list[str] = []
    truth = size = 0
    while size < tokens * CHARS_PER_TOKEN:
        label = rng.choice(list(LABELS))
        text = rng.choice(LABELS[label]).format(x=rng.choice(NAMES))
        record = f"Record {len(records) + 1} | user {rng.randrange(10_000)} | {text}"
        records.append(record)
        size += len(record) + 1
        truth += label == target
    query = f"How many of the records are questions whose answer is a {target}? Answer with a number."
    return Task("count", tokens, records, query, str(truth))


# -- the scripted model (no endpoint set) -----------------------------------------------------------

ROOT_CHUNK = """\
items = context if isinstance(context, list) else [context]
text = "\\n".join(items)
chunks = [text[i:i + {chunk}] for i in range(0, len(text), {chunk})]
answers = llm_query_batched(["SUBTASK " + {query!r} + "\\n---\\n" + c for c in chunks])
print(len(chunks), "chunks;", answers[:5])
"""
ROOT_NIAH = """\
found = [a.strip() for a in answers if a.strip() != "NONE" and not a.startswith("Error")]
answer["content"] = found[0] if found else "not found"
answer["ready"] = True
"""
ROOT_COUNT = """\
answer["content"] = str(sum(int(a) for a in answers if a.strip().isdigit()))
answer["ready"] = True
"""


def scripted(messages: list[Message], model: str) -> str:
    """Plays a root model, its sub-calls, and a plain call with a window of 2^15 tokens."""
    if messages[0]["role"] == "system":
        first = next(m["content"] for m in messages if m["content"].startswith("Your query:"))
        query = first.split('"')[1]
        if not any(m["role"] == "assistant" for m in messages):
            return "```repl\n" + ROOT_CHUNK.format(chunk=CHUNK_CHARS, query=query) + "```"
        return "```repl\n" + (ROOT_NIAH if "magic number" in query else ROOT_COUNT) + "```"
    prompt = messages[-1]["content"]
    if prompt.startswith("SUBTASK "):
        query, _, chunk = prompt.partition("\n---\n")
        return _read(query, chunk)
    query = prompt.rsplit("\n\nQuestion: ", 1)[-1]
    return _read(query, prompt[:WINDOW_CHARS])


def _read(query: str, text: str) -> str:
    if key := re.search(r"magic number for (\w+)", query):
        found = re.search(rf"special magic number for {key.group(1)} is (\d+)", text)
        return found.group(1) if found else "NONE"
    label = next(name for name in LABELS if f"is a {name}" in query)
    return str(sum(line.split(" | ")[-1].startswith(KEYWORDS[label]) for line in text.splitlines()))


# -- running ----------------------------------------------------------------------------------------


@dataclass
class Row:
    task: Task
    method: str
    score: float
    tokens: int
    cost: float
    seconds: float
    subcalls: int
    note: str = ""


async def plain(model: ChatModel, task: Task) -> Row:
    text = task.context if isinstance(task.context, str) else "\n".join(task.context)
    started = time.monotonic()
    try:
        completion = await model.complete([{"role": "user", "content": f"Context:\n{text}\n\nQuestion: {task.query}"}])
    except Exception as exc:  # noqa: BLE001 - a context past the model's window is a score of 0, not a crash
        return Row(task, "plain", 0.0, 0, 0.0, time.monotonic() - started, 0, f"{type(exc).__name__}: {exc}"[:60])
    usage = completion.usage
    seconds = time.monotonic() - started
    return Row(task, "plain", task.score(completion.text), usage.total_tokens, usage.cost_usd, seconds, 0)


async def recursive(runtime: Runtime, model: ChatModel, sub: ChatModel | None, task: Task, limits: Limits) -> Row:
    result = await RLM(runtime, model, sub_model=sub, limits=limits).run(task.context, task.query)
    note = "" if result.answered else result.reason
    usage = result.usage
    return Row(
        task,
        "rlm",
        task.score(result.answer),
        usage.total_tokens,
        usage.cost_usd,
        result.elapsed_s,
        result.subcalls,
        note,
    )


async def evaluate(args: argparse.Namespace, settings: Settings, llm: LlmConfig) -> list[Row]:
    rng = random.Random(args.seed)
    makers: dict[str, Callable[[int, random.Random], Task]] = {"niah": niah, "count": count}
    tasks = [
        makers[kind](2**exp, rng)
        for kind in args.tasks.split(",")
        for exp in range(args.min_exp, args.max_exp + 1)
        for _ in range(args.repeats)
    ]
    model = make_client(llm)
    sub = make_client(llm.model_copy(update={"model": llm.sub_model})) if llm.sub_model else None
    limits = Limits(max_iterations=args.max_iterations, max_cost_usd=args.max_cost)
    rows = []
    try:
        async with Runtime(settings) as runtime:
            for task in tasks:
                rows.append(await plain(model, task))
                rows.append(await recursive(runtime, model, sub, task, limits))
                print(
                    f"  {task.kind} 2^{task.tokens.bit_length() - 1}: "
                    f"plain {rows[-2].score:.2f}, rlm {rows[-1].score:.2f}",
                    flush=True,
                )
    finally:
        await model.aclose()
        if sub is not None:
            await sub.aclose()
    return rows


def report(rows: list[Row], label: str) -> None:
    print(f"\n{label}")
    print(
        f"{'task':<6} {'tokens':>7} {'method':<6} {'score':>6} {'tokens used':>12} {'cost $':>8} {'time s':>7}"
        f" {'sub-calls':>9}  note"
    )
    for row in rows:
        print(
            f"{row.task.kind:<6} {'2^' + str(row.task.tokens.bit_length() - 1):>7} {row.method:<6} "
            f"{row.score:6.2f} {row.tokens:12,} {row.cost:8.4f} {row.seconds:7.2f} {row.subcalls:9}  {row.note}"
        )
    for kind in sorted({row.task.kind for row in rows}):
        means = {
            method: statistics.mean(r.score for r in rows if r.task.kind == kind and r.method == method)
            for method in ("plain", "rlm")
        }
        print(f"mean {kind}: plain {means['plain']:.2f}, rlm {means['rlm']:.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="niah,count")
    parser.add_argument("--min-exp", type=int, default=13)
    parser.add_argument("--max-exp", type=int, default=18)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-iterations", type=int, default=30)
    parser.add_argument("--max-cost", type=float, default=None, help="USD per RLM run")
    parser.add_argument("--bridge-rounds", type=int, default=300)
    args = parser.parse_args()

    home, root = private_dirs("rlm-eval")
    try:
        settings = Settings(home=home, sandbox_root=root)  # [llm] from AIRLOCK_LLM__* when set
        if settings.llm.base_url is not None:
            rows = await evaluate(args, settings, settings.llm)
            label = f"endpoint {settings.llm.base_url}, model {settings.llm.model}"
        else:
            with ScriptedModelServer(scripted) as server:
                llm = LlmConfig(base_url=server.base_url, model="scripted")
                rows = await evaluate(args, settings, llm)
            label = (
                "SCRIPTED model (no AIRLOCK_LLM__BASE_URL set): these scores test the harness, not a model; "
                f"its plain call sees {WINDOW_CHARS // CHARS_PER_TOKEN:,} tokens"
            )
        report(rows, label)
        bridge = await measure_bridge(settings, args.bridge_rounds)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    calls = bridge["llm_query"]
    p50, p95 = percentile(calls, 0.5), percentile(calls, 0.95)
    floor = percentile(bridge["bare, new conn"], 0.5)
    print(
        f"\nbridge overhead per sub-call, above the model's own latency ({args.bridge_rounds} calls): "
        f"p50 {p50:.3f} ms, p95 {p95:.3f} ms; a bare Unix-socket round trip p50 {floor:.3f} ms "
        f"({p50 / floor:.1f}x); target p50 <= 2 ms: {'met' if p50 <= 2 else 'NOT met'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
