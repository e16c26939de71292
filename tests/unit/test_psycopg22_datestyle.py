"""DateStyle from a client's startup packet is reported in PostgreSQL's form (h-psycopg22):
psycopg reads the date order at a fixed offset of the reported value."""

from __future__ import annotations

import pytest

from gridpg.frontend.session_settings import canonical_datestyle

# (startup value, what PostgreSQL 18 reports), checked against a plain server
CASES = [
    ("SQL,DMY", "SQL, DMY"),
    ("sql, dmy", "SQL, DMY"),
    ("german", "German, DMY"),
    ("German,MDY", "German, MDY"),
    ("Postgres", "Postgres, MDY"),
    ("iso", "ISO, MDY"),
    ("euro", "ISO, DMY"),
    ("US,SQL", "SQL, MDY"),
    ("YMD", "ISO, YMD"),
]


@pytest.mark.parametrize(("given", "reported"), CASES)
def test_startup_datestyle_reported_as_postgresql_does(given: str, reported: str) -> None:
    assert canonical_datestyle(given) == reported


@pytest.mark.parametrize("given", ["SQL,DMY,ISO", "SQL,MDY,DMY", "nonsense", "SQL;DMY"])
def test_values_postgresql_refuses_are_kept_for_it_to_refuse(given: str) -> None:
    assert canonical_datestyle(given) == given
