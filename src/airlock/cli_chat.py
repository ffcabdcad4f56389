"""``airlock chat``: talk with a model whose code runs in a sandbox of its own, on this machine.

    airlock chat                                   interactive: a line is a message; Ctrl-D ends
    airlock chat -m "How big is /usr/share?"       one message, its answer, and exit
    airlock chat --model gpt-5-mini --base-url https://api.openai.com/v1

Each reply of the model is printed as it comes, followed by what its code blocks printed; the
tokens and cost of each message go to stderr. The model is ``[llm]`` of the config
(``AIRLOCK_LLM__BASE_URL``, ``AIRLOCK_LLM__MODEL``, ``AIRLOCK_LLM__API_KEY``, ...); ``--model`` and
``--base-url`` override it. The sandbox lives as long as the chat. Exit codes of ``-m``: 0 answered,
1 no answer (the steps ran out, or the model call failed), 2 bad usage or no model configured.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from airlock.cli import EXIT_USAGE, _fail, llm_config
from airlock.config import load_settings
from airlock.errors import ConfigError, ModelError, ModelNotConfigured

if TYPE_CHECKING:
    from airlock.llm.chat import ChatStep

__all__ = ["COMMANDS", "EXIT_NO_ANSWER", "add_commands", "run"]

COMMANDS = ("chat",)
EXIT_NO_ANSWER = 1


def add_commands(sub: Any) -> None:
    chat = sub.add_parser("chat", help="talk with a model whose code runs in a sandbox of its own")
    chat.add_argument("-m", "--message", help="send this one message, print the answer and exit")
    chat.add_argument("--agent-id", default="cli", help="who the code runs as, in the history (default: cli)")
    chat.add_argument("--model", help="the model (default: [llm] model)")
    chat.add_argument("--base-url", help="an OpenAI-compatible or Ollama endpoint (default: [llm] base_url)")
    chat.add_argument("--max-steps", type=int, default=4, help="model calls per message (default: 4)")
    chat.add_argument("--language", help="run unlabeled blocks in this language (default: they are not run)")
    chat.add_argument("--backend", help="the sandbox's backend (default: the configured one)")
    chat.add_argument("--role", help="the policy role the code is judged for")
    chat.add_argument("--json", action="store_true", help="print each answer as one line of JSON")


def run(args: argparse.Namespace) -> int:
    if args.max_steps < 1:
        _fail("--max-steps must be at least 1", EXIT_USAGE)
    if args.message is not None and not args.message.strip():
        _fail("-m needs a message", EXIT_USAGE)
    session = _Session(args)
    with asyncio.Runner() as runner:
        try:
            if args.message is not None:
                return session.answer(runner, args.message)
            return session.interact(runner)
        finally:
            runner.run(session.close())


class _Session:
    """The runtime, the model client and the chat of one ``airlock chat``."""

    def __init__(self, args: argparse.Namespace) -> None:
        from airlock.llm.chat import AgentChat, ChatOptions
        from airlock.llm.client import make_client
        from airlock.runtime import Runtime

        self.args = args
        settings = load_settings()
        try:
            self.model = make_client(llm_config(settings, args))
        except (ModelNotConfigured, ConfigError) as exc:
            _fail(f"{exc}; or give --base-url and --model", EXIT_USAGE)
        options = ChatOptions(
            max_steps=args.max_steps, backend=args.backend, role=args.role, default_language=args.language
        )
        self.runtime = Runtime(settings)
        self.chat = AgentChat(self.runtime, self.model, agent_id=args.agent_id, options=options)

    async def close(self) -> None:
        await self.chat.close()
        await self.runtime.aclose()
        await self.model.aclose()

    def answer(self, runner: asyncio.Runner, message: str) -> int:
        """Send one message; print the steps as they end (or the turn as JSON)."""
        on_step = None if self.args.json else _print_step
        try:
            turn = runner.run(self.chat.send(message, on_step=on_step))
        except ModelError as exc:
            print(f"airlock: {exc}", file=sys.stderr)
            return EXIT_NO_ANSWER
        if self.args.json:
            print(turn.model_dump_json(), flush=True)
        usage = turn.usage
        print(
            f"[{len(turn.steps)} step(s) · {usage.total_tokens:,} tokens · ${usage.cost_usd:.4f}"
            + (" · stopped: out of steps" if turn.stop_reason == "max_steps" else "")
            + "]",
            file=sys.stderr,
            flush=True,
        )
        return 0 if turn.stop_reason == "answered" else EXIT_NO_ANSWER

    def interact(self, runner: asyncio.Runner) -> int:
        """A message per line of stdin, until its end (Ctrl-D) or ``exit``."""
        tty = sys.stdin.isatty()
        if tty:
            print(f"chat with {self.model.model}; code runs in a sandbox of its own. Ctrl-D ends.", file=sys.stderr)
        while True:
            try:
                line = input("> " if tty else "")
            except EOFError:
                return 0
            if line.strip() in ("exit", "quit"):
                return 0
            if line.strip():
                self.answer(runner, line)


def _print_step(step: ChatStep) -> None:
    print(step.reply.rstrip("\n"), flush=True)
    if step.blocks.runnable:
        print(f"\n{step.blocks.feedback()}\n", flush=True)
