"""Models in the loop: chat clients (OpenAI-compatible and Ollama), their usage and cost, the code
blocks in their replies and ``run_blocks`` to run them, ``AgentChat`` (a conversation whose code
runs in the agent's own sandbox), and ``ScriptedModelServer``, a test double that plays scripted replies.

The clients, the runner, the chat and the scripted server load on first use (they pull in httpx and ``http.server``), so
importing this package, as ``airlock.config`` does for the price table, stays light."""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING

from airlock.llm.base import ChatModel, Completion, Message, Usage
from airlock.llm.blocks import CodeBlock, extract_code_blocks
from airlock.llm.prices import DEFAULT_PRICES, ModelPrice, price_for

if _TYPE_CHECKING:
    from airlock.llm.chat import AgentChat, ChatOptions, ChatStep, ChatTurn
    from airlock.llm.client import HttpChatModel, OllamaClient, OpenAIClient, client_from_env, make_client
    from airlock.llm.runner import BlockOutcome, BlocksResult, BlockStatus, run_blocks
    from airlock.llm.scripted import Delay, Fail, ScriptedModelServer

__all__ = [
    "DEFAULT_PRICES",
    "AgentChat",
    "BlockOutcome",
    "BlockStatus",
    "BlocksResult",
    "ChatModel",
    "ChatOptions",
    "ChatStep",
    "ChatTurn",
    "CodeBlock",
    "Completion",
    "Delay",
    "Fail",
    "HttpChatModel",
    "Message",
    "ModelPrice",
    "OllamaClient",
    "OpenAIClient",
    "ScriptedModelServer",
    "Usage",
    "client_from_env",
    "extract_code_blocks",
    "make_client",
    "price_for",
    "run_blocks",
]

#: Exported names whose modules load on first use.
_LAZY = {
    **dict.fromkeys(
        ["HttpChatModel", "OllamaClient", "OpenAIClient", "client_from_env", "make_client"], "airlock.llm.client"
    ),
    **dict.fromkeys(["Delay", "Fail", "ScriptedModelServer"], "airlock.llm.scripted"),
    **dict.fromkeys(["BlockOutcome", "BlockStatus", "BlocksResult", "run_blocks"], "airlock.llm.runner"),
    **dict.fromkeys(["AgentChat", "ChatOptions", "ChatStep", "ChatTurn"], "airlock.llm.chat"),
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'airlock.llm' has no attribute {name!r}")
    value = getattr(_import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
