# Benign: a pytest module with a parametrized test.
import pytest


def is_palindrome(text: str) -> bool:
    cleaned = "".join(c.lower() for c in text if c.isalnum())
    return cleaned == cleaned[::-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("racecar", True), ("A man, a plan, a canal: Panama", True), ("hello", False)],
)
def test_is_palindrome(text, expected):
    assert is_palindrome(text) is expected
