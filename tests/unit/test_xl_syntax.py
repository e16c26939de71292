"""Postgres-XL / Greenplum syntax: distribution clauses of CREATE TABLE and cluster commands."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.sql.xl import DistributionSpec, XlCommand, extract_distribution, parse_xl_command

T = "CREATE TABLE t (a int, b text)"


@pytest.mark.parametrize(
    ("clause", "spec"),
    [
        ("DISTRIBUTE BY HASH(a)", DistributionSpec("hash", "a")),
        ("distribute by hash (B)", DistributionSpec("hash", "b")),
        ("DISTRIBUTE BY MODULO(a)", DistributionSpec("modulo", "a")),
        ("DISTRIBUTE BY ROUNDROBIN", DistributionSpec("roundrobin")),
        ("DISTRIBUTE BY REPLICATION", DistributionSpec("replication")),
        ("DISTRIBUTED BY (a)", DistributionSpec("hash", "a")),
        ("DISTRIBUTED RANDOMLY", DistributionSpec("roundrobin")),
        ("DISTRIBUTED REPLICATED", DistributionSpec("replication")),
        ("DISTRIBUTE BY HASH(a) TO NODE (dn1, dn2)", DistributionSpec("hash", "a", ("dn1", "dn2"))),
        ('DISTRIBUTE BY REPLICATION TO NODE (DN1, "DN 2")',
         DistributionSpec("replication", nodes=("dn1", "DN 2"))),
        ("DISTRIBUTE BY MODULO(a) TO GROUP g1", DistributionSpec("modulo", "a", group="g1")),
        ('TO GROUP "My Group"', DistributionSpec("", group="My Group")),
        ("TO NODE (dn2)", DistributionSpec("", nodes=("dn2",))),
    ],
)
def test_clauses(clause: str, spec: DistributionSpec) -> None:
    assert extract_distribution(f"{T} {clause}") == (T, spec)


def test_quoted_column_keeps_case_and_spaces() -> None:
    sql = 'CREATE TABLE t ("My Col" int) DISTRIBUTE BY HASH("My Col")'
    assert extract_distribution(sql) == ('CREATE TABLE t ("My Col" int)', DistributionSpec("hash", "My Col"))
    sql = 'CREATE TABLE t ("a""b" int) DISTRIBUTE BY MODULO("a""b")'
    assert extract_distribution(sql)[1] == DistributionSpec("modulo", 'a"b')


@pytest.mark.parametrize(
    ("sql", "clean"),
    [
        ("CREATE TABLE t (a int) WITH (fillfactor = 70) DISTRIBUTE BY HASH(a)",
         "CREATE TABLE t (a int) WITH (fillfactor = 70)"),
        ("CREATE TABLE t (a int) PARTITION BY RANGE (a) DISTRIBUTE BY HASH(a)",
         "CREATE TABLE t (a int) PARTITION BY RANGE (a)"),
        ("CREATE TEMP TABLE t (a int) DISTRIBUTE BY REPLICATION", "CREATE TEMP TABLE t (a int)"),
        ("CREATE UNLOGGED TABLE t (a int) DISTRIBUTED RANDOMLY", "CREATE UNLOGGED TABLE t (a int)"),
        ("CREATE TABLE IF NOT EXISTS t (a int) DISTRIBUTE BY HASH(a);",
         "CREATE TABLE IF NOT EXISTS t (a int) ;"),
    ],
)
def test_other_clauses_stay(sql: str, clean: str) -> None:
    out, spec = extract_distribution(sql)
    assert spec is not None
    assert " ".join(out.split()) == clean


def test_create_table_as() -> None:
    out, spec = extract_distribution("CREATE TABLE t2 AS SELECT 1 AS a DISTRIBUTE BY HASH(a)")
    assert (out, spec) == ("CREATE TABLE t2 AS SELECT 1 AS a", DistributionSpec("hash", "a"))


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (a int)",
        "CREATE TABLE t (distribute int, distributed int)",
        "CREATE TABLE t (a int, CHECK (a > 0))",
        "CREATE TABLE t (a text DEFAULT 'DISTRIBUTE BY HASH(x)')",
        "CREATE TABLE t (a int) -- DISTRIBUTE BY HASH(a)",
        "CREATE TABLE t (a int) /* DISTRIBUTED RANDOMLY */",
        "SELECT 1",
    ],
)
def test_no_clause(sql: str) -> None:
    assert extract_distribution(sql) == (sql, None)


@pytest.mark.parametrize(
    "sql",
    [
        "GRANT SELECT ON t TO GROUP staff",
        "GRANT staff TO GROUP admins",
        "ALTER TABLE t RENAME TO node",
        "ALTER TABLE t RENAME TO \"group\"",
        "SELECT distributed FROM t",
        "SELECT 1 AS distribute",
        "UPDATE t SET distributed = 1 WHERE distribute > 0",
    ],
)
def test_same_words_in_other_statements_are_left_alone(sql: str) -> None:
    assert extract_distribution(sql) == (sql, None)


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("DISTRIBUTE BY HASH(a, b)", "one column"),
        ("DISTRIBUTE BY HASH", "one column"),
        ("DISTRIBUTE BY HASH()", "one column"),
        ("DISTRIBUTE BY MODULO a", "one column"),
        ("DISTRIBUTED BY (a, b)", "one column"),
        ("DISTRIBUTE BY SPREAD(a)", 'unknown distribution method "SPREAD"'),
        ("DISTRIBUTE BY", "end of input"),
        ("DISTRIBUTE", "end of input"),
        ("DISTRIBUTE HASH(a)", 'at or near "HASH"'),
        ("DISTRIBUTED SIDEWAYS", 'at or near "SIDEWAYS"'),
        ("TO NODE", "list of nodes"),
        ("TO NODE dn1", "list of nodes"),
        ("TO NODE ()", "list of nodes"),
        ("TO NODE (dn1, dn2", "end of input"),
        ("TO GROUP", "group name"),
    ],
)
def test_errors(clause: str, message: str) -> None:
    with pytest.raises(PgError, match=message) as info:
        extract_distribution(f"{T} {clause}")
    assert info.value.sqlstate == "42601"


# -- cluster commands ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "command"),
    [
        ("EXECUTE DIRECT ON (dn1) 'SELECT 1'", XlCommand("execute_direct", nodes=("dn1",), sql="SELECT 1")),
        ("execute direct on (DN1, \"DN 2\") 'select ''x'', $$y$$';",
         XlCommand("execute_direct", nodes=("dn1", "DN 2"), sql="select 'x', $$y$$")),
        ("EXECUTE DIRECT ON ( dn1 ,dn2 )\n'SELECT\n1'", XlCommand("execute_direct", nodes=("dn1", "dn2"), sql="SELECT\n1")),
        ("CREATE NODE dn3 WITH (TYPE = 'datanode', HOST = '127.0.0.1', PORT = 5433)",
         XlCommand("create_node", name="dn3", options={"type": "datanode", "host": "127.0.0.1", "port": "5433"})),
        ('create node "My Node" with (type=datanode, host=db.example, port=1);',
         XlCommand("create_node", name="My Node", options={"type": "datanode", "host": "db.example", "port": "1"})),
        ("ALTER NODE DN3 WITH (PORT = 5434)", XlCommand("alter_node", name="dn3", options={"port": "5434"})),
        ("DROP NODE dn3;", XlCommand("drop_node", name="dn3")),
        ("CREATE NODE GROUP g1 WITH (dn1, dn2)", XlCommand("create_node_group", name="g1", nodes=("dn1", "dn2"))),
        ('CREATE NODE GROUP "G x" WITH DN1, "DN 2"',
         XlCommand("create_node_group", name="G x", nodes=("dn1", "DN 2"))),
        ("drop node group g1", XlCommand("drop_node_group", name="g1")),
        ("PAUSE CLUSTER", XlCommand("pause")),
        ("unpause  cluster ;", XlCommand("unpause")),
        ("CLEAN CONNECTION TO ALL FOR DATABASE d", XlCommand("clean_connection")),
        ("CREATE BARRIER 'b1'", XlCommand("barrier", name="b1")),
    ],
)
def test_xl_commands(sql: str, command: XlCommand) -> None:
    assert parse_xl_command(sql) == command


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1", "CREATE TABLE node (a int)", "CREATE NODE", "EXECUTE DIRECT ON dn1 'SELECT 1'",
     "EXECUTE DIRECT ON (dn1) SELECT 1", "EXECUTE stmt", "PAUSE CLUSTERS", "pause",
     "CREATE TABLE t (a int) DISTRIBUTE BY HASH(a)"],
)
def test_not_xl_commands(sql: str) -> None:
    assert parse_xl_command(sql) is None


# -- hostile but valid text: the scanner's tokens decide, never the raw text -------------


@pytest.mark.parametrize(
    ("sql", "clean", "spec"),
    [
        ("/* owner: web */ CREATE TABLE t (a int) DISTRIBUTE BY HASH(a)",
         "/* owner: web */ CREATE TABLE t (a int)", DistributionSpec("hash", "a")),
        ("-- c\nCREATE TABLE t (a int) /* x */ DISTRIBUTE /* y */ BY -- z\n HASH ( a )",
         "-- c\nCREATE TABLE t (a int) /* x */", DistributionSpec("hash", "a")),
        ("CREATE TABLE distributed (distributed int) DISTRIBUTED BY (distributed)",
         "CREATE TABLE distributed (distributed int)", DistributionSpec("hash", "distributed")),
        ("CREATE TABLE distribute (distribute int) DISTRIBUTE BY MODULO (distribute)",
         "CREATE TABLE distribute (distribute int)", DistributionSpec("modulo", "distribute")),
        ("CREATE TABLE replication (modulo int, roundrobin int, node int, barrier int) DISTRIBUTE BY REPLICATION",
         "CREATE TABLE replication (modulo int, roundrobin int, node int, barrier int)",
         DistributionSpec("replication")),
        ("CREATE TABLE node (node int) DISTRIBUTE BY HASH (node) TO NODE (dn1)",
         "CREATE TABLE node (node int)", DistributionSpec("hash", "node", ("dn1",))),
        ("CREATE TABLE s.modulo (roundrobin int) DISTRIBUTE BY ROUNDROBIN",
         "CREATE TABLE s.modulo (roundrobin int)", DistributionSpec("roundrobin")),
        ('CREATE TABLE t (U&"d\\0061t" int) DISTRIBUTE BY HASH (U&"d\\0061t")',
         'CREATE TABLE t (U&"d\\0061t" int)', DistributionSpec("hash", "dat")),
        ("CREATE TABLE t (U&\"d!0061t\" UESCAPE '!' int) DISTRIBUTE BY HASH (U&\"d!0061t\" UESCAPE '!')",
         "CREATE TABLE t (U&\"d!0061t\" UESCAPE '!' int)", DistributionSpec("hash", "dat")),
        ("CREATE TABLE t (a text DEFAULT $$ DISTRIBUTE BY HASH(b) $$) DISTRIBUTE BY HASH (a)",
         "CREATE TABLE t (a text DEFAULT $$ DISTRIBUTE BY HASH(b) $$)", DistributionSpec("hash", "a")),
        ("CREATE TABLE t (a text DEFAULT E'\\' distribute by hash(b) \\'') DISTRIBUTE BY HASH (a)",
         "CREATE TABLE t (a text DEFAULT E'\\' distribute by hash(b) \\'')", DistributionSpec("hash", "a")),
        ("CREATE TABLE t2 AS SELECT 1 AS distributed, 2 distribute DISTRIBUTE BY HASH (distributed)",
         "CREATE TABLE t2 AS SELECT 1 AS distributed, 2 distribute", DistributionSpec("hash", "distributed")),
        ("CREATE TABLE ÄB (a int) DISTRIBUTE BY HASH (a)", "CREATE TABLE ÄB (a int)", DistributionSpec("hash", "a")),
        ('CREATE TABLE t ("A" int) DISTRIBUTE BY HASH (A)', 'CREATE TABLE t ("A" int)', DistributionSpec("hash", "a")),
    ],
)
def test_hostile_text(sql: str, clean: str, spec: DistributionSpec) -> None:
    assert extract_distribution(sql) == (clean, spec)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE distributed (id int)",
        "CREATE TABLE distribute (distribute int, distributed int)",
        "CREATE TABLE node (node int, \"group\" int)",
        "CREATE TABLE t AS SELECT a SIMILAR TO node AS m FROM x",
        "CREATE TABLE t AS SELECT distributed, distribute FROM x GROUP BY distributed, distribute",
        "CREATE TABLE t (a text DEFAULT $q$ DISTRIBUTED RANDOMLY $q$)",
        "/* DISTRIBUTE BY HASH(a) */ CREATE TABLE t (a int)",
        "CREATE TABLE t (a int) /* DISTRIBUTE BY /* nested */ HASH(a) */",
        "INSERT INTO distributed VALUES (1)",
        "SELECT * FROM node JOIN modulo USING (roundrobin)",
    ],
)
def test_hostile_text_without_clause(sql: str) -> None:
    assert extract_distribution(sql) == (sql, None)


@pytest.mark.parametrize(
    ("sql", "command"),
    [
        ("/* ops */ PAUSE CLUSTER", XlCommand("pause")),
        ("-- c\nunpause /* x */ cluster;", XlCommand("unpause")),
        ("EXECUTE DIRECT ON (dn1) $$select 'it''s'$$", XlCommand("execute_direct", nodes=("dn1",), sql="select 'it''s'")),
        ("EXECUTE DIRECT ON (dn1) E'select \\'x\\''", XlCommand("execute_direct", nodes=("dn1",), sql="select 'x'")),
        ("/* c */ CREATE NODE dn3 WITH (HOST = $$h$$, PORT = 5433) ",
         XlCommand("create_node", name="dn3", options={"host": "h", "port": "5433"})),
        ("CREATE BARRIER b1", XlCommand("barrier", name="b1")),
        ("CREATE BARRIER", XlCommand("barrier")),
    ],
)
def test_xl_commands_hostile(sql: str, command: XlCommand) -> None:
    assert parse_xl_command(sql) == command


@pytest.mark.parametrize(
    "sql",
    ["CREATE TABLE barrier (node int)", "DROP TABLE node", "CREATE INDEX node ON t (a)",
     "/* pause cluster */ SELECT 1", "SELECT 'pause cluster'", "CREATE TABLE cluster (a int)",
     "ALTER TABLE node ADD COLUMN distributed int", "DROP TABLE \"node\""],
)
def test_not_xl_commands_hostile(sql: str) -> None:
    assert parse_xl_command(sql) is None


def test_node_options_alone_are_true() -> None:
    """XL writes `ALTER NODE n WITH (PRIMARY)`; a key without a value means true."""
    from gridpg.sql.xl import parse_xl_command

    command = parse_xl_command("ALTER NODE dn1s1 WITH (PRIMARY, ACTIVE = false)")
    assert command is not None and command.options == {"primary": "true", "active": "false"}
