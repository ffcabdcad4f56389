"""The knowledge graph: thesauri (Terraphim JSON, markdown concept files, merging), the matcher
(leftmost-longest, case, whole words, Unicode offsets; checked against a brute-force oracle) and
validation (strictness, required concepts, suggestions, feedback, retries and escalation)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from airlock.errors import ConfigError
from airlock.knowledge import (
    Concept,
    KnowledgeValidator,
    Matcher,
    Strictness,
    Thesaurus,
    Validation,
    from_markdown,
    load_json,
    merge,
    parse_json,
)
from airlock.knowledge.folding import Folded, is_word_char, word_image
from airlock.knowledge.words import words

ENGINEER = {
    "name": "Engineer",
    "data": {
        "npm install": {"id": 1, "nterm": "bun install", "display_value": "bun install"},
        "Yarn Install ": {"id": 1, "nterm": "Bun Install"},
        "rust": {"id": 2, "nterm": "rust programming", "url": "https://rust-lang.org", "priority": 3},
    },
}


def thesaurus(*groups: str, name: str = "t") -> Thesaurus:
    """One concept per group ``"name: synonym, synonym"``; the name is a term too."""
    terms: dict[str, Concept] = {}
    for number, group in enumerate(groups, start=1):
        nterm, _, synonyms = group.partition(":")
        concept = Concept(number, nterm)
        for term in [nterm, *synonyms.split(",")]:
            if term.strip():
                terms[term] = concept
    return Thesaurus(name, terms)


def spans(matcher: Matcher, text: str) -> list[tuple[str, str]]:
    """Each match as (term, the original text it covers)."""
    return [(m.term, text[m.start : m.end]) for m in matcher.find(text)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the JSON format -------------------------------------------------------------------------------
def test_a_json_thesaurus_loads_with_normalised_terms_and_shared_concepts(tmp_path: Path) -> None:
    loaded = load_json(write(tmp_path / "engineer.json", json.dumps(ENGINEER)))

    assert loaded.name == "Engineer"
    assert sorted(loaded.terms) == ["npm install", "rust", "yarn install"]
    bun = loaded.terms["yarn install"]
    assert bun is loaded.terms["npm install"], "synonyms share one concept"
    assert (bun.id, bun.nterm, bun.display, bun.label) == (1, "bun install", "bun install", "bun install")
    rust = loaded.terms["rust"]
    assert (rust.nterm, rust.url, rust.display, rust.label) == (
        "rust programming",
        "https://rust-lang.org",
        None,
        rust.nterm,
    )
    assert loaded.resolve("BUN INSTALL") == bun, "a concept's own name resolves"
    assert loaded.resolve("Yarn install") == bun, "so does any of its terms"
    assert loaded.resolve("cargo") is None
    assert loaded.synonyms(bun) == ["npm install", "yarn install"]


def test_to_json_round_trips(tmp_path: Path) -> None:
    loaded = load_json(write(tmp_path / "engineer.json", json.dumps(ENGINEER)))
    again = load_json(write(tmp_path / "again.json", loaded.to_json()))

    assert again == loaded
    assert json.loads(loaded.to_json())["data"]["yarn install"] == {
        "id": 1,
        "nterm": "bun install",
        "display_value": "bun install",
    }


def test_malformed_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", '{"name": "x",\n "data": {"a": {"id": 1,}}}')

    with pytest.raises(ConfigError, match=r"broken\.json:2:\d+: not valid JSON"):
        load_json(path)


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"data": {}}, "'name' is missing"),
        ({"name": "x"}, "'data' is missing"),
        ({"name": "x", "data": {"a": {"nterm": "a"}}}, "term 'a': missing 'id'"),
        ({"name": "x", "data": {"a": {"id": 1}}}, "term 'a': missing 'nterm'"),
        ({"name": "x", "data": {"a": {"id": True, "nterm": "a"}}}, "'id' must be a non-negative integer"),
        ({"name": "x", "data": {"a": {"id": 1, "nterm": " "}}}, "'nterm' must be a non-empty string"),
        ({"name": "x", "data": {"a": {"id": 1, "nterm": "a", "url": 5}}}, "'url' must be a string"),
        ({"name": "x", "data": {"a": "b"}}, "an entry is an object"),
        ({"name": "x", "data": {"a": {"id": 1, "nterm": "a"}, "b": {"id": 1, "nterm": "b"}}}, "id 1 names both"),
        ({"name": "x", "data": {"a": {"id": 1, "nterm": "a"}, "b": {"id": 2, "nterm": "a"}}}, "has two ids"),
        ({"name": "x", "data": {"Rust": {"id": 1, "nterm": "a"}, "rust": {"id": 2, "nterm": "b"}}}, "means both"),
        ([], "a JSON object"),
    ],
)
def test_a_thesaurus_that_cannot_be_used_is_refused_by_name(tmp_path: Path, document: object, complaint: str) -> None:
    path = write(tmp_path / "bad.json", json.dumps(document))

    with pytest.raises(ConfigError, match=r"bad\.json") as refused:
        load_json(path)
    assert complaint in str(refused.value)


def test_a_key_given_twice_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="appears twice"):
        parse_json('{"name": "x", "data": {"a": {"id": 1, "nterm": "a"}, "a": {"id": 2, "nterm": "b"}}}')
    with pytest.raises(ConfigError, match=r"nowhere\.json: cannot read"):
        load_json(tmp_path / "nowhere.json")


# -- markdown concept files ------------------------------------------------------------------------
def test_markdown_concepts_with_synonyms(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    write(kg / "devops" / "npm install.md", "# NPM Install\nsynonyms:: npm i, Yarn Install,, pnpm install\n")
    write(kg / "rust.md", "Some text\n- Synonyms:: rustlang\n## Later heading\n")
    write(kg / "deploy.md", "no heading\n```\nsynonyms:: not-read\n# not a heading\n```\n")
    write(kg / ".hidden" / "secret.md", "synonyms:: hidden\n")
    write(kg / "notes.txt", "synonyms:: ignored\n")

    built = from_markdown(kg)

    assert built.name == "kg"
    assert sorted(built.terms) == ["deploy", "npm i", "npm install", "pnpm install", "rust", "rustlang", "yarn install"]
    assert [(c.id, c.nterm, c.display) for c in built.concepts] == [
        (1, "deploy", "deploy"),
        (2, "npm install", "NPM Install"),
        (3, "rust", "Later heading"),
    ]
    assert from_markdown(kg) == built, "the same folder gives the same ids"


def test_markdown_same_stem_is_one_concept_and_a_shared_term_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "a" / "deploy.md", "# Deploy\nsynonyms:: ship\n")
    write(tmp_path / "b" / "deploy.md", "synonyms:: release\n")
    merged = from_markdown(tmp_path, name="ops")
    assert merged.name == "ops"
    assert merged.synonyms(merged.terms["ship"]) == ["deploy", "release", "ship"]
    assert merged.terms["release"].display == "Deploy"

    write(tmp_path / "c" / "publish.md", "synonyms:: release\n")
    with pytest.raises(ConfigError, match=r"publish\.md:1: 'release' is a term of 'publish' and of 'deploy'"):
        from_markdown(tmp_path)


def test_markdown_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        from_markdown(tmp_path / "missing")
    assert len(from_markdown(tmp_path)) == 0


# -- merging -------------------------------------------------------------------------------------------
def test_merge_unites_concepts_by_name_and_renumbers_them() -> None:
    first = Thesaurus("a", {"cargo": Concept(7, "rust"), "rust": Concept(7, "rust")})
    second = Thesaurus("b", {"rustc": Concept(1, "rust", url="https://rust-lang.org"), "pip": Concept(2, "python")})

    merged = merge([first, second])

    assert merged.name == "a+b"
    assert [(c.id, c.nterm, c.url) for c in merged.concepts] == [
        (1, "python", None),
        (2, "rust", "https://rust-lang.org"),
    ]
    assert merged.terms["cargo"] is merged.terms["rustc"]


def test_merge_refuses_a_term_with_two_meanings() -> None:
    first = Thesaurus("metals", {"rust": Concept(1, "corrosion")})
    second = Thesaurus("code", {"rust": Concept(1, "rust programming")})

    with pytest.raises(
        ConfigError, match="'rust' means 'corrosion' in thesaurus 'metals' and 'rust programming' in 'code'"
    ):
        merge([first, second])


# -- the matcher -----------------------------------------------------------------------------------
def test_leftmost_longest_on_overlapping_and_nested_terms() -> None:
    matcher = Matcher(thesaurus("new york", "york city", "rust", "rust programming", "foo bar", "bar baz"))

    assert spans(matcher, "new york city") == [("new york", "new york")]
    assert spans(matcher, "the york city") == [("york city", "york city")]
    assert spans(matcher, "Rust programming, rust, rust programmer") == [
        ("rust programming", "Rust programming"),
        ("rust", "rust"),
        ("rust", "rust"),
    ]
    assert spans(matcher, "xfoo bar baz") == [("bar baz", "bar baz")], "a candidate inside a word does not shadow"


def test_case_is_ignored_in_ascii_and_unicode() -> None:
    matcher = Matcher(thesaurus("école", "strasse", "İstanbul", "file", "Σοφία"))

    assert spans(matcher, "ÉCOLE, École") == [("école", "ÉCOLE"), ("école", "École")]
    assert spans(matcher, "Straße STRASSE strasse") == [
        ("strasse", "Straße"),
        ("strasse", "STRASSE"),
        ("strasse", "strasse"),
    ]
    assert spans(matcher, "İSTANBUL, İstanbul") == [("i̇stanbul", "İSTANBUL"), ("i̇stanbul", "İstanbul")]
    assert spans(matcher, "the ﬁle") == [("file", "ﬁle")], "a ligature folds to two letters"
    assert spans(matcher, "ΣΟΦΊΑ") == [("σοφία", "ΣΟΦΊΑ")]


def test_offsets_map_back_through_characters_that_fold_longer() -> None:
    text = "ßß ﬁ rust İ rust"
    matches = Matcher(thesaurus("rust")).find(text)
    assert [(m.start, m.end) for m in matches] == [(5, 9), (12, 16)]
    assert all(text[m.start : m.end] == "rust" for m in matches)

    inside = Matcher(thesaurus("sru"), whole_words=False).find("ßrust")  # folded: "ssrust"
    assert [(m.start, m.end) for m in inside] == [(0, 3)], "begins inside ß: at ß"
    ending = Matcher(thesaurus("as"), whole_words=False).find("aß")  # folded: "ass"
    assert [(m.start, m.end) for m in ending] == [(0, 2)], "ends inside ß: after it"


def test_whole_words_by_default_substrings_when_asked() -> None:
    terms = thesaurus("rm", "c++", "--force", "node.js")
    whole, anywhere = Matcher(terms), Matcher(terms, whole_words=False)
    text = "format; rm_all rm2 trust; rm -rf x.rm (rm) c++, git push --force node.js"

    assert [(m.term, m.start) for m in whole.find(text)] == [
        ("rm", 26),
        ("rm", 35),
        ("rm", 39),
        ("c++", 43),
        ("--force", 57),
        ("node.js", 65),
    ]
    assert spans(anywhere, "format trust")[:1] == [("rm", "rm")]
    assert spans(whole, "format trust") == []


def test_unicode_word_boundaries() -> None:
    matcher = Matcher(thesaurus("rust", "東京"))

    assert spans(matcher, "rustá «rust» rust_x") == [("rust", "rust")]
    assert spans(matcher, "東京 と 大東京") == [("東京", "東京")], "a script without spaces: whole words only at spaces"
    assert spans(Matcher(thesaurus("東京"), whole_words=False), "大東京") == [("東京", "東京")]


def test_a_lone_surrogate_is_no_obstacle() -> None:
    for whole_words in (True, False):
        matcher = Matcher(thesaurus("rust"), whole_words=whole_words)
        assert [(m.start, m.end) for m in matcher.find("ß \ud800 rust")] == [(4, 8)]


def test_short_and_empty_inputs() -> None:
    empty = Matcher(Thesaurus("empty"))
    assert empty.find("anything at all") == []
    assert empty.terms == ()
    assert Matcher(thesaurus("rust")).find("") == []
    assert Matcher(thesaurus("c", "go")).terms == ("go",), "one-letter terms are not matched"
    assert spans(Matcher(thesaurus("c", "go")), "c go") == [("go", "go")]


def test_concepts_are_distinct_in_order_of_appearance() -> None:
    matcher = Matcher(thesaurus("deploy: release, ship", "rust"))

    assert [c.nterm for c in matcher.concepts("ship rust, then release")] == ["deploy", "rust"]


def _oracle(text: str, terms: list[str], whole_words: bool) -> list[tuple[str, int, int]]:
    """Leftmost-longest by definition, on the folded text (offsets mapped back)."""
    folded = Folded(text)
    body = folded.text
    keys = [t for t in terms if len(t) >= 2]

    def fits(key: str, start: int) -> bool:
        if not body.startswith(key, start):
            return False
        if not whole_words:
            return True
        end = start + len(key)
        before_ok = not is_word_char(key[0]) or start == 0 or not is_word_char(body[start - 1])
        after_ok = not is_word_char(key[-1]) or end == len(body) or not is_word_char(body[end])
        return before_ok and after_ok

    found, position = [], 0
    while position < len(body):
        candidates = [key for key in keys if fits(key, position)]
        if candidates:
            key = max(candidates, key=len)
            found.append((key, folded.start(position), folded.end(position + len(key))))
            position += len(key)
        else:
            position += 1
    return found


@pytest.mark.parametrize("whole_words", [True, False])
@pytest.mark.parametrize("alphabet", ["ab_ -.", "aB1_ -\x10\x7f", "aßéİ -"])
def test_the_matcher_agrees_with_a_brute_force_oracle(whole_words: bool, alphabet: str) -> None:
    rng = random.Random(f"{alphabet}{whole_words}")
    for _ in range(400):
        terms = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))).strip() for _ in range(5)}
        terms = {term for term in terms if term}
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        if not terms:
            continue
        matcher = Matcher(Thesaurus("r", {term: Concept(1, "c") for term in terms}), whole_words=whole_words)
        expected = _oracle(text, sorted(matcher.terms), whole_words)
        assert [(m.term, m.start, m.end) for m in matcher.find(text)] == expected, (terms, text)


def test_ascii_and_unicode_paths_agree() -> None:
    matcher = Matcher(thesaurus("new york", "york city", "rm", "c++", "x_1"))
    text = "New York City; rm -rf; C++ x_1 x_12 format rm"

    ascii_hits = [(m.term, m.start, m.end) for m in matcher.find(text)]
    unicode_hits = [(m.term, m.start, m.end) for m in matcher.find(text + " é")]

    assert ascii_hits == unicode_hits
    assert len(ascii_hits) == 5


def test_the_word_image_marks_word_edges() -> None:
    assert word_image(b"ab c_1 -x") == bytes(
        [0x80 | ord("a"), ord("B"), 0x20, 0x80 | ord("c"), ord("_"), 0x11, 0x20, ord("-"), 0x80 | ord("X")]
    )
    assert word_image(b"") == b""


def test_case_folding_never_empties_a_character() -> None:
    assert all(len(chr(point).casefold()) >= 1 for point in range(sys.maxunicode + 1) if not 0xD800 <= point < 0xE000)


# -- words ---------------------------------------------------------------------------------------
def test_words_are_the_references_tokens_without_stop_words() -> None:
    found = words("The deploy-bot is in prod: run_all --force 2024 x1 été ab rust-lang -")
    assert [w.text for w in found] == ["deploy-bot", "prod", "run_all", "force", "été", "rust-lang"]


# -- validation ----------------------------------------------------------------------------------
OPS = thesaurus(
    "deploy: release, ship, rollout",
    "kubernetes: k8s",
    "rollback",
    "canary",
    "rust",
    "lang",
    "cluster",
    "staging",
)


def test_permissive_never_fails_but_warns() -> None:
    validator = KnowledgeValidator(OPS, "permissive")

    result = validator.validate("frobnicate the widgets quickly", required=["deploy"])

    assert result.passed
    assert result.strictness is Strictness.PERMISSIVE
    assert result.missing == ["deploy"], "required is reported, not enforced"
    assert result.message.startswith("Warning (permissive, not enforced): No known terms found")
    assert not result.retry
    assert not result.escalate
    assert "Unknown terms: frobnicate, widgets, quickly" in result.feedback


def test_normal_passes_known_talk_and_fails_without_it() -> None:
    validator = KnowledgeValidator(OPS)

    good = validator.validate("Release the canary to staging, then rollback if the probe fails.")
    nothing = validator.validate("frobnicate the widgets quickly")
    sparse = validator.validate("canary " + " ".join(f"word{n}x" for n in range(20)))

    assert good.passed, good.message
    assert [m.term for m in good.matched] == ["release", "canary", "staging", "rollback"]
    assert good.unknown == ["probe", "fails"], "unknown words do not fail normal"
    assert good.ratio == pytest.approx(4 / 6, abs=1e-3)
    assert good.feedback == ""
    assert not nothing.passed
    assert nothing.message.startswith(
        "No known terms found. Please use domain-specific terminology. Unrecognized: frob"
    )
    assert not sparse.passed
    assert sparse.message == "Match ratio 5% below threshold 10%"


def test_strict_blocks_any_unknown_word_and_has_its_own_ratio() -> None:
    validator = KnowledgeValidator(OPS, Strictness.STRICT)

    assert validator.min_match_ratio == 0.3
    assert validator.validate("Release the canary to staging").passed
    blocked = validator.validate("release the canary to stagin")
    assert not blocked.passed
    assert blocked.unknown == ["stagin"]
    assert "Unknown terms: stagin" in blocked.message
    assert KnowledgeValidator(OPS, "strict", min_match_ratio=0.9).validate("ship it, ship ok").passed
    assert KnowledgeValidator(OPS, "normal", min_match_ratio=0.9).validate("ship the widget").message == (
        "Match ratio 50% below threshold 90%"
    )


@pytest.mark.parametrize("strictness", ["normal", "strict"])
def test_required_concepts_are_enforced_by_name_or_synonym(strictness: str) -> None:
    validator = KnowledgeValidator(OPS, strictness)

    assert validator.validate("ship to kubernetes", required=["deploy", "k8s"]).passed, "by synonym, found by name"
    assert validator.validate("rollout k8s", required=["Deploy", "kubernetes"]).passed
    missing = validator.validate("ship it to kubernetes", required=["rollback", "helm"])
    assert not missing.passed
    assert missing.missing == ["rollback", "helm"]
    assert "Missing required concepts: rollback, helm" in missing.message
    assert "Required concept 'rollback': say one of rollback" in missing.feedback
    assert "Required concept 'helm' is not in the thesaurus 't'" in missing.feedback


def test_a_known_word_is_one_that_matches_cover() -> None:
    validator = KnowledgeValidator(OPS, "strict")

    assert validator.validate("rust-lang on the cluster").passed, "both halves are terms"
    assert validator.validate("rust-belt").unknown == ["rust-belt"]
    assert validator.validate("k8s 2024").unknown == []


def test_suggestions_and_feedback_help_rephrase() -> None:
    validator = KnowledgeValidator(OPS, "strict")

    result = validator.validate("relase to kubernets with a canary, frobnicate wibble zork")

    assert result.suggestions == {"relase": ["release"], "kubernets": ["kubernetes"]}
    lines = result.feedback.splitlines()
    assert lines[0] == (
        "Knowledge check failed (strict): Match ratio 17% below threshold 30%; "
        "Unknown terms: relase, kubernets, frobnicate, wibble, zork"
    )
    assert "  Unknown terms: relase, kubernets, frobnicate, wibble, zork" in lines
    assert "  Known terms you used: canary" in lines
    assert "  Instead of 'relase', consider: release" in lines
    assert "  Instead of 'kubernets', consider: kubernetes" in lines
    assert "  Consider using more domain-specific terminology instead of generic terms." in lines
    assert lines[-1] == "Please rephrase to use only known domain terminology."


def test_retries_then_escalation() -> None:
    validator = KnowledgeValidator(OPS, max_retries=2)

    outcomes = [validator.validate("frobnicate", attempt=attempt) for attempt in range(4)]

    assert [(o.retry, o.escalate) for o in outcomes] == [(True, False), (True, False), (False, True), (False, True)]
    assert outcomes[2].message.startswith("Validation failed after 3 attempts. User intervention required: No known")
    assert outcomes[2].feedback.endswith("No more retries: a human must approve or reject this request.")
    assert KnowledgeValidator(OPS, max_retries=0).validate("frobnicate").escalate
    assert not KnowledgeValidator(OPS).validate("release", attempt=9).escalate, "passing never escalates"


def test_without_a_thesaurus() -> None:
    for source in (None, Thesaurus("empty"), thesaurus("c")):
        assert KnowledgeValidator(source, "permissive").validate("anything", required=["x"]).passed
        normal = KnowledgeValidator(source).validate("anything")
        assert normal.passed
        assert normal.message == "No thesaurus to validate against: nothing was checked"
        strict = KnowledgeValidator(source, "strict").validate("anything")
        assert not strict.passed, "strict fails closed"
        assert strict.escalate, "no rephrasing can help"
        assert not strict.retry
        required = KnowledgeValidator(source, "normal").validate("anything", required=["deploy"])
        assert not required.passed
        assert required.missing == ["deploy"]


def test_nothing_to_judge_passes() -> None:
    for strictness in Strictness:
        validator = KnowledgeValidator(OPS, strictness)
        assert validator.validate("").passed
        assert validator.validate("x = 1 + 22; the of").passed
        assert not validator.validate("", required=["deploy"]).passed or strictness is Strictness.PERMISSIVE


def test_settings_are_checked_and_case_insensitive() -> None:
    assert KnowledgeValidator(OPS, "STRICT").strictness is Strictness.STRICT
    with pytest.raises(ValueError, match="paranoid"):
        KnowledgeValidator(OPS, "paranoid")
    with pytest.raises(ValueError, match="between 0 and 1"):
        KnowledgeValidator(OPS, min_match_ratio=1.5)
    with pytest.raises(ValueError, match="negative"):
        KnowledgeValidator(OPS, max_retries=-1)


def test_a_validation_is_json_ready() -> None:
    result = KnowledgeValidator(OPS, "strict").validate("ship to kubernets")

    encoded = json.loads(json.dumps(result.as_dict()))

    assert isinstance(result, Validation)
    assert encoded["matched"] == [{"term": "ship", "concept": "deploy", "start": 0, "end": 4}]
    assert encoded["suggestions"] == {"kubernets": ["kubernetes"]}
    assert encoded["strictness"] == "strict"
    assert KnowledgeValidator(OPS).validate("ship to kubernets").suggestions == {}, "looked for only when needed"


def test_the_vector_word_image_equals_the_integer_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large texts are marked with numpy, small ones with integer arithmetic: the same bytes."""
    from airlock.knowledge import folding

    rng = random.Random(5)
    samples = [bytes(rng.randrange(128) for _ in range(rng.randrange(1, 60))) for _ in range(500)]
    samples += [b"a", b"_", b" ", b"ab cd_e\x10\x7f9 z", bytes(range(128))]
    monkeypatch.setattr(folding, "_VECTOR_FROM", 10**12)
    by_integers = [folding.word_image(sample) for sample in samples]
    monkeypatch.setattr(folding, "_VECTOR_FROM", 1)
    assert [folding.word_image(sample) for sample in samples] == by_integers
