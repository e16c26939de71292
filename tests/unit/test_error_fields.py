"""A node's error reaches the client as PostgreSQL words it (errors.PgError.from_fields)."""

from gridpg.errors import PgError


def test_loopback_context_line_is_left_out() -> None:
    fields = {"S": "ERROR", "C": "23505", "M": 'duplicate key value violates unique constraint "q1_pkey"',
              "W": "remote SQL command: INSERT INTO public.q1(id, v) VALUES ($1, $2)\n"
                   'SQL statement "INSERT INTO q1 VALUES (i, 0)"\n'
                   "PL/pgSQL function qf1(integer) line 4 at SQL statement"}
    error = PgError.from_fields(fields)
    assert error.to_fields()["W"] == ('SQL statement "INSERT INTO q1 VALUES (i, 0)"\n'
                                      "PL/pgSQL function qf1(integer) line 4 at SQL statement")
    assert error.sqlstate == "23505"


def test_context_of_only_the_loopback_line_is_dropped() -> None:
    error = PgError.from_fields({"C": "22012", "M": "division by zero",
                                 "W": "remote SQL command: SELECT 1/0"})
    assert "W" not in error.to_fields()


def test_other_contexts_are_kept() -> None:
    fields = {"C": "22P02", "M": "invalid input syntax", "W": 'COPY t, line 2, column b: "x"'}
    assert PgError.from_fields(fields).to_fields()["W"] == fields["W"]


def test_a_shard_index_named_without_a_table_field_is_the_users() -> None:
    # 55006 carries no table field: the shard index `s.t_30:t_pkey` (or its digest form)
    # was shown as it is (h-asyncpg28)
    for name in ('"app.shelf_30:shelf_pkey"', '"0123456789:shelf_pkey"'):
        error = PgError.from_fields({"C": "55006", "M": f"cannot DROP INDEX {name} because it is being used "
                                                        "by active queries in this session"})
        assert error.message == 'cannot DROP INDEX "shelf_pkey" because it is being used by active queries in this session'
        assert error.to_fields()["M"] == error.message
    for value in ('"12:30:x"', '"0123456789:abc"'):
        kept = PgError.from_fields({"C": "22P02", "M": f"invalid input syntax for type integer: {value}"})
        assert kept.message == f"invalid input syntax for type integer: {value}"
