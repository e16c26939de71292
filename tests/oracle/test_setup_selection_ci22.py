"""Which of 00_setup.sql's statements a corpus file gets (runner.setup_statements_for):
the tables it names, whole words in any case, and every table for a file that may list
its schema's relations (no database needed)."""

from __future__ import annotations

from .runner import SETUP_FILE, corpus_files, parse_corpus, setup_statements_for


def _tables(text: str) -> list[str]:
    return sorted({st.load for st in setup_statements_for(text) if st.load})


def test_a_file_gets_the_setup_tables_it_names_and_no_other():
    assert _tables("SELECT 1") == []
    assert _tables("SELECT id FROM Users WHERE id = 1") == ["users"]
    assert _tables("SELECT * FROM users_archive; SELECT order_id FROM my_orders; SELECT $x$skewed$x$") == ["skewed"]
    # a table named only inside a routine's body or a string still counts
    assert _tables("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM cities $$") \
        == ["cities"]
    kept = [st.sql for st in setup_statements_for("SELECT * FROM orders")]
    assert any(sql.startswith("CREATE TABLE orders") for sql in kept)
    assert "SELECT count(*) FROM orders" in kept and len(kept) == 3


def test_a_table_without_rows_is_made_when_named():
    kept = [st.sql for st in setup_statements_for("INSERT INTO empty_t VALUES (1)")]
    assert [sql.split("(")[0].strip() for sql in kept] == ["CREATE TABLE empty_t", "SELECT count"]


def test_a_file_that_may_list_its_schema_gets_every_setup_table():
    every = parse_corpus(SETUP_FILE).statements
    for text in ("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                 "SELECT table_name FROM information_schema.tables",
                 "SELECT relname, n_live_tup FROM pg_stat_user_tables"):
        assert setup_statements_for(text) == every
    # (a catalog read filtered by the file's own names is not a list of the schema)
    assert setup_statements_for("SELECT relname FROM pg_class WHERE relnamespace = "
                                "current_schema()::regnamespace AND relname LIKE 'ms%'") == []


def test_the_setup_file_names_all_its_tables():
    text = SETUP_FILE.read_text()
    assert setup_statements_for(text) == parse_corpus(SETUP_FILE).statements
    assert corpus_files()[0] == SETUP_FILE
