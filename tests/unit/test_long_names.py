"""sql/long_names.py: PostgreSQL's truncation NOTICEs for the client's identifiers."""

from __future__ import annotations

from gridpg.errors import notice
from gridpg.sql import long_names

LONG = "x" * 70


def test_unquoted_names_are_downcased_ascii_only_and_cut_to_63_bytes() -> None:
    name = "Ab" + "c" * 70
    assert long_names.notices(f"SELECT {name} FROM t") == [
        f'identifier "{name.lower()}" will be truncated to "{name.lower()[:63]}"']


def test_quoted_and_multibyte_names_are_cut_at_whole_characters() -> None:
    name = "é" * 37  # 74 bytes: 31 whole characters fit in 63 bytes
    assert long_names.notices(f'SELECT 1 AS "{name}"') == [
        f'identifier "{name}" will be truncated to "{"é" * 31}"']
    assert long_names.notices('SELECT 1 AS "a""b' + "c" * 70 + '"')[0].startswith('identifier "a"b')


def test_each_occurrence_and_nothing_inside_strings_or_comments() -> None:
    sql = f"SELECT {LONG} FROM {LONG} WHERE s = '{LONG}' /* {LONG} */"
    assert len(long_names.notices(sql)) == 2
    assert long_names.notices("SELECT short_name, another_fairly_long_name FROM t") == []
    assert not long_names.may_truncate("SELECT customer_address_identifier FROM t")


def test_a_server_repeating_a_notice_is_a_duplicate() -> None:
    said = set(long_names.notices(f"SELECT {LONG}"))
    assert long_names.is_duplicate(long_names.notice_messages(sorted(said))[0], said)
    assert not long_names.is_duplicate(notice("something else"), said)
