"""Code blocks in a model's reply: CommonMark's fences, the language tags, and which blocks run."""

from __future__ import annotations

import pytest

from airlock.errors import UnknownLanguage
from airlock.llm import CodeBlock, extract_code_blocks


def only(text: str, **kwargs: str) -> CodeBlock:
    blocks = extract_code_blocks(text, **kwargs)
    assert len(blocks) == 1, blocks
    return blocks[0]


def test_blocks_come_in_order_with_their_code_and_language() -> None:
    reply = "First:\n```python\nx = 41\nprint(x + 1)\n```\nThen:\n```bash\necho hi\n```\nDone."

    blocks = extract_code_blocks(reply)

    assert [(b.index, b.line, b.tag, b.language, b.code) for b in blocks] == [
        (0, 2, "python", "python", "x = 41\nprint(x + 1)\n"),
        (1, 7, "bash", "bash", "echo hi\n"),
    ]
    assert all(b.closed and b.skip_reason is None for b in blocks)


def test_tildes_fence_a_block_too() -> None:
    assert only("~~~js\nconsole.log(1)\n~~~\n").code == "console.log(1)\n"


def test_a_longer_fence_holds_shorter_ones() -> None:
    reply = "````markdown\nHow to:\n```python\nprint(1)\n```\n````\n"

    block = only(reply)

    assert (block.tag, block.language) == ("markdown", None)
    assert block.code == "How to:\n```python\nprint(1)\n```\n"


def test_a_fence_is_closed_only_by_its_own_character_at_least_as_long() -> None:
    reply = "~~~~python\n~~~\n```\nprint('inside')\n~~~~~\n"

    assert only(reply).code == "~~~\n```\nprint('inside')\n"


def test_a_closing_fence_may_carry_nothing_but_spaces() -> None:
    block = only("```python\nprint(1)\n``` not a close\n```   \n")

    assert block.code == "print(1)\n``` not a close\n"


def test_an_info_string_with_a_backtick_does_not_open_a_backtick_fence() -> None:
    assert extract_code_blocks("``` py`thon\nprint(1)\n") == []
    assert only("~~~ py`thon\nprint(1)\n~~~\n").tag == "py`thon"


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("py", "python"),
        ("python3", "python"),
        ("Python", "python"),
        ("repl", "python"),
        ("js", "javascript"),
        ("node", "javascript"),
        ("javascript", "javascript"),
        ("sh", "bash"),
        ("shell", "bash"),
        ("bash", "bash"),
        ("rs", "rust"),
        ("rust", "rust"),
        ("go", "go"),
        ("golang", "go"),
    ],
)
def test_language_aliases(tag: str, language: str) -> None:
    block = only(f"```{tag}\ncode\n```")

    assert (block.tag, block.language) == (tag.lower(), language)


def test_only_the_first_word_of_the_info_string_is_the_tag() -> None:
    assert (only("```python title=main.py {1,3}\npass\n```").tag, only("```   rs\nfn main() {}\n```").tag) == (
        "python",
        "rs",
    )


@pytest.mark.parametrize("tag", ["text", "json", "diff", "console", "zsh", "markdown", "command", "output"])
def test_a_tag_naming_no_language_airlock_runs_is_never_run(tag: str) -> None:
    block = only(f"```{tag}\nls -la\n```", default_language="bash")

    assert block.language is None
    assert block.skip_reason == f"{tag!r} is not a language Airlock runs"


def test_an_unlabeled_block_is_skipped_without_a_default_language() -> None:
    block = only("```\nprint(1)\n```")

    assert (block.tag, block.language) == ("", None)
    assert block.skip_reason == "unlabeled, and no default language was given"


@pytest.mark.parametrize(("default", "language"), [("python", "python"), ("repl", "python"), ("sh", "bash")])
def test_an_unlabeled_block_takes_the_default_language(default: str, language: str) -> None:
    reply = "```\nprint(1)\n```\n```js\nconsole.log(2)\n```"

    blocks = extract_code_blocks(reply, default_language=default)

    assert [(b.language, b.skip_reason) for b in blocks] == [(language, None), ("javascript", None)]


def test_an_unknown_default_language_is_refused() -> None:
    with pytest.raises(UnknownLanguage):
        extract_code_blocks("```\n1\n```", default_language="cobol")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_breaks(newline: str) -> None:
    reply = newline.join(["Run this:", "```python", "x = 1", "print(x)", "```", ""])

    block = only(reply)

    assert (block.language, block.code, block.closed) == ("python", "x = 1\nprint(x)\n", True)


def test_an_indented_fence_takes_its_indent_off_the_body() -> None:
    reply = "   ```python\n   if True:\n       print(1)\n  x = 2\nprint(3)\n  ```\n"

    assert only(reply).code == "if True:\n    print(1)\nx = 2\nprint(3)\n"


def test_a_fence_indented_four_spaces_is_no_fence() -> None:
    assert extract_code_blocks("    ```python\n    print(1)\n    ```\n") == []


def test_an_unterminated_block_runs_to_the_end_of_the_reply_and_is_not_run() -> None:
    reply = "Here:\n```python\nprint(1)\n```\nAnd:\n```python\nfor i in range(10):\n    print("

    blocks = extract_code_blocks(reply)

    assert [(b.language, b.closed) for b in blocks] == [("python", True), (None, False)]
    assert blocks[1].code == "for i in range(10):\n    print(\n"
    assert blocks[1].skip_reason is not None
    assert blocks[1].skip_reason.startswith("unterminated")


def test_a_reply_that_ends_on_the_closing_fence_is_closed() -> None:
    assert only("```python\nprint(1)\n```").closed


def test_an_empty_block_has_empty_code() -> None:
    assert only("```python\n```\n").code == ""


def test_text_without_fences_has_no_blocks() -> None:
    assert extract_code_blocks("Use `print()` or ``print`` inline; no blocks here.") == []
    assert extract_code_blocks("") == []
