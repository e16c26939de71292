"""A datanode's 23514 from the placement CHECK of an inheritance member reaches the client as
what gridpg does not do (0A000), not as a violation of a constraint the user never made."""

from __future__ import annotations

from gridpg.errors import PgError


def test_placement_check_violation_becomes_a_refusal() -> None:
    fields = {"S": "ERROR", "C": "23514", "M": 'new row for relation "vc" violates check constraint "gridpg_placement"',
              "D": "Failing row contains (13, t).", "s": "public", "t": "vc", "n": "gridpg_placement"}
    error = PgError.from_fields(fields, node="dn1")
    assert error.sqlstate == "0A000"
    assert error.to_fields()["C"] == "0A000"
    assert 'a row of "vc" would have to move to another datanode' in error.message
    assert "n" not in error.to_fields() and error.detail == "Failing row contains (13, t)."


def test_a_users_check_violation_stays_as_it_is() -> None:
    fields = {"S": "ERROR", "C": "23514", "M": 'new row for relation "t" violates check constraint "pos"',
              "s": "public", "t": "t", "n": "pos"}
    error = PgError.from_fields(fields)
    assert (error.sqlstate, error.message) == ("23514", fields["M"])
