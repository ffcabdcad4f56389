"""The knowledge check: a role may require that the code sent to it speaks the domain's language.

The role's ``knowledge`` names a thesaurus (Terraphim JSON, or a folder of markdown concept
files); the code is validated against it (``airlock.knowledge``) at the role's strictness, with
its required concepts. A failure is a critical reason naming what was wrong, with the validation's
feedback beside it (the unknown terms, close known ones, what to rephrase); a permissive role's
warnings are low-risk reasons. Thesauri are read once, when the policy is loaded: a reload reads
them again. Each request is judged on its own: the policy keeps no count of attempts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airlock.errors import ConfigError
from airlock.models import Reason, Risk
from airlock.policy.config import KnowledgeCheck, PolicyConfig

if TYPE_CHECKING:
    from airlock.knowledge import KnowledgeValidator, Matcher

__all__ = ["judge", "validators"]


def validators(config: PolicyConfig) -> dict[str, KnowledgeValidator]:
    """A validator for each role that asks for the check; ``ConfigError`` naming the role and the
    file when a thesaurus cannot be read. Roles naming the same source share its matcher."""
    from airlock.knowledge import KnowledgeValidator  # the automata's libraries: only when a role asks

    matchers: dict[tuple[str, str], Matcher] = {}
    built = {}
    for name, role in config.roles.items():
        if role.knowledge is None:
            continue
        check = role.knowledge
        try:
            matcher = _matcher(check, matchers)
        except ConfigError as exc:
            raise ConfigError(f"role {name!r}: knowledge: {exc}") from exc
        built[name] = KnowledgeValidator(matcher, check.strictness, min_match_ratio=check.min_match_ratio)
    return built


def _matcher(check: KnowledgeCheck, cache: dict[tuple[str, str], Matcher]) -> Matcher:
    from airlock.knowledge import Matcher, from_markdown, load_json

    key = ("json", check.thesaurus) if check.thesaurus is not None else ("markdown", str(check.concepts_dir))
    if key not in cache:
        thesaurus = load_json(key[1]) if key[0] == "json" else from_markdown(key[1])
        cache[key] = Matcher(thesaurus)
    return cache[key]


def judge(validator: KnowledgeValidator, check: KnowledgeCheck, code: str) -> list[Reason]:
    """The reasons the check gives for ``code``: none when it passes cleanly."""
    validation = validator.validate(code, required=check.required)
    if validation.passed:
        if not validation.feedback:
            return []
        return [Reason(pattern="policy.knowledge", risk=Risk.LOW, message=validation.message)]
    return [
        Reason(pattern="policy.knowledge", risk=Risk.CRITICAL, message=f"knowledge check: {validation.message}"),
        Reason(pattern="policy.knowledge-feedback", risk=Risk.LOW, message=validation.feedback),
    ]
