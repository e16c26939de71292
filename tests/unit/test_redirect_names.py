"""`twins.redirect_names` and `triggers.qualified_to_shadows`: a body's `schema.table`
names of distributed tables name the loopback's shadows, strings and comments untouched."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.executor.triggers import qualified_to_shadows
from gridpg.executor.twins import redirect_names

SHADOWS = {("app", "t"): "gridpg_lb_7", ("Audit Trail", "Log"): "gridpg_lb_9"}


def test_tables_quoted_names_and_spaced_dots_are_redirected() -> None:
    text = 'INSERT INTO "Audit Trail" . "Log" (a) SELECT x FROM app.t /* app.t */ WHERE y = \'app.t\''
    assert redirect_names(text, SHADOWS) == (
        'INSERT INTO gridpg_lb_9 . "Log" (a) SELECT x FROM gridpg_lb_7.t /* app.t */ WHERE y = \'app.t\'')


def test_a_column_named_with_schema_and_table_follows_its_table() -> None:
    text = "UPDATE app.t SET n = app.t.n + 1"
    assert redirect_names(text, SHADOWS) == "UPDATE gridpg_lb_7.t SET n = gridpg_lb_7.t.n + 1"


def test_longer_names_and_other_tables_are_left_alone() -> None:
    text = "SELECT db.app.t.n, app.u, other.t FROM app.u"
    assert redirect_names(text, SHADOWS) == text


def test_trigger_bodies_name_the_shadows() -> None:
    body = "BEGIN INSERT INTO app.t VALUES (NEW.id); RETURN NULL; END"
    assert qualified_to_shadows(body, [("app", "t")], {"app": "7"}) == \
        "BEGIN INSERT INTO gridpg_lb_7.t VALUES (NEW.id); RETURN NULL; END"


def test_a_trigger_body_still_naming_a_distributed_table_is_refused() -> None:
    # (the scanner reads `U&"..."` as one name the rewriting does not match; the body's
    # parse still finds app.t: refused rather than writing the catalog server's copy)
    body = 'BEGIN INSERT INTO app.U&"\\0074" VALUES (1); RETURN NULL; END'
    with pytest.raises(PgError) as caught:
        qualified_to_shadows(body, [("app", "t")], {"app": "7"})
    assert caught.value.sqlstate == "0A000"
