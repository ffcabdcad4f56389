"""The domain's knowledge: thesauri of terms and concepts, a matcher that finds them in texts, and
validation that a text speaks the domain's language (markdown commands, the policy).

    >>> from airlock.knowledge import KnowledgeValidator, Thesaurus, Concept
    >>> deploy = Concept(1, "deploy")
    >>> validator = KnowledgeValidator(Thesaurus("ops", {"deploy": deploy, "release": deploy}), "strict")
    >>> result = validator.validate("release the frobnicator", required=["deploy"])
    >>> result.passed, result.unknown
    (False, ['frobnicator'])

Thesauri come from Terraphim JSON files (``load_json``) or folders of markdown concept files
(``from_markdown``), and combine with ``merge``.
"""

from airlock.knowledge.markdown import from_markdown
from airlock.knowledge.matcher import Match, Matcher
from airlock.knowledge.thesaurus import Concept, Thesaurus, load_json, merge, parse_json
from airlock.knowledge.validator import KnowledgeValidator, Strictness, Validation

__all__ = [
    "Concept",
    "KnowledgeValidator",
    "Match",
    "Matcher",
    "Strictness",
    "Thesaurus",
    "Validation",
    "from_markdown",
    "load_json",
    "merge",
    "parse_json",
]
