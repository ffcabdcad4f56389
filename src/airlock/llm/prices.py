"""What a model call costs: USD per million input and output tokens, by model name.

``DEFAULT_PRICES`` holds OpenAI's list prices as published on ``PRICES_AS_OF`` (standard tier, no
cached-input or batch discounts). Prices change: set your own in ``[llm.prices]`` of the config file,
which win over these. A model with no price costs 0.0, and the call is counted in
``Usage.unpriced_calls`` so that a total of 0.0 is never mistaken for "free"."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_PRICES", "PRICES_AS_OF", "ModelPrice", "cost_usd", "price_for"]

PRICES_AS_OF = "2025-08-07"


class ModelPrice(BaseModel):
    """USD per 1 000 000 tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    input_per_m: float = Field(..., ge=0, description="USD per million prompt (input) tokens")
    output_per_m: float = Field(..., ge=0, description="USD per million completion (output) tokens")


DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    name: ModelPrice(input_per_m=given, output_per_m=taken)
    for name, given, taken in (
        ("gpt-5", 1.25, 10.00),
        ("gpt-5-mini", 0.25, 2.00),
        ("gpt-5-nano", 0.05, 0.40),
        ("gpt-4.1", 2.00, 8.00),
        ("gpt-4.1-mini", 0.40, 1.60),
        ("gpt-4.1-nano", 0.10, 0.40),
        ("gpt-4o", 2.50, 10.00),
        ("gpt-4o-mini", 0.15, 0.60),
        ("o3", 2.00, 8.00),
        ("o4-mini", 1.10, 4.40),
    )
}

# A dated snapshot of a model ("gpt-4o-2024-08-06", "gpt-4o-mini-20240718") costs what the model does.
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


def price_for(model: str, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of ``model``: the overrides first, then the defaults; also under the name without a
    provider prefix (``openai/gpt-4o``) or a date suffix. None when neither table knows it."""
    table = {**DEFAULT_PRICES, **(overrides or {})}
    bare = model.rsplit("/", 1)[-1]
    for name in (model, bare, _DATE_SUFFIX.sub("", bare)):
        if name in table:
            return table[name]
    return None


def cost_usd(price: ModelPrice, prompt_tokens: int, completion_tokens: int) -> float:
    return (prompt_tokens * price.input_per_m + completion_tokens * price.output_per_m) / 1_000_000
