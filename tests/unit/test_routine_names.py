"""The routine guard's text test: a routine's or table's name must stand as a word of the
statement (executor/routines._names_words), not as any substring of it."""

from gridpg.executor.routines import _names_words


def test_a_name_inside_other_words_is_not_named() -> None:
    assert not _names_words("select nextval('s3') from generate_series(1, 3)", ["f", "s", "t"])
    assert not _names_words("select * from tt where ftt = 1", ["t", "f"])


def test_a_name_as_a_word_is_named() -> None:
    assert _names_words("select f(1)", ["f"])
    assert _names_words("select app.f(x) from t", ["f"])
    assert _names_words('select * from "my-fn"()', ["my-fn"])
    assert _names_words('insert into "order items" values (1)', ["order items"])


def test_words_in_string_constants_count() -> None:
    assert _names_words("select 'f'::regproc", ["f"])
    assert _names_words("select * from crosstab('select a, b from t')", ["t"])
    assert _names_words("do $$ begin perform f(); end $$", ["f"])


def test_an_unreadable_text_counts_as_naming_them() -> None:
    assert _names_words("select 'unterminated", ["zzz"])
