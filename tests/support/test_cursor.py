"""The `after` cursor is read by one function (support/selectors.py) for HTTP and sockets."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from support.selectors import MAX_CURSOR, parse_cursor


@pytest.mark.parametrize(("given", "cursor"), [(None, 0), ("", 0), ("0", 0), ("42", 42)])
def test_a_cursor_is_a_non_negative_integer_and_absent_means_from_the_start(
    given: str | None, cursor: int
) -> None:
    assert parse_cursor(given) == cursor


def test_a_cursor_beyond_the_largest_id_reads_as_the_largest_id() -> None:
    assert parse_cursor("9" * 19) == MAX_CURSOR


@pytest.mark.parametrize("given", ["abc", "-1", "1.5", " 1", "²", "٣", "9" * 20, "1" * 5000])
def test_anything_else_is_refused_naming_after(given: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_cursor(given)
    assert list(refused.value.errors) == ["after"]
