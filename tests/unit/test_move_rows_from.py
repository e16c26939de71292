"""The check after an UPDATE that moves rows with a FROM of constants: the copy's UPDATE
must update every row the datanodes deleted (executor/multi._ensure_every_row_joined_again)."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.executor.multi import _ensure_every_row_joined_again, _joins_a_from


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + (len(body) + 4).to_bytes(4, "big") + body


def test_every_copied_row_updated_passes() -> None:
    held = [_message(b"D", b"\x00\x01\x00\x00\x00\x011") + _message(b"C", b"UPDATE 2\x00")]
    _ensure_every_row_joined_again(held, 2)


def test_a_copied_row_left_unchanged_is_refused() -> None:
    held = [_message(b"T", b"\x00\x00"), _message(b"C", b"UPDATE 1\x00")]
    with pytest.raises(PgError) as info:
        _ensure_every_row_joined_again(held, 2)
    assert info.value.sqlstate == "0A000"


def test_only_an_update_with_from_is_checked() -> None:
    assert _joins_a_from('UPDATE pg_temp.gp_move_s1 AS "t" SET a = v.i FROM (VALUES (1, 2)) v(i, j) WHERE t.b = v.j')
    assert not _joins_a_from('UPDATE pg_temp.gp_move_s1 AS "t" SET a = 1 RETURNING *')
