"""Oracle tests: every corpus file must give the same results on gridpg as on plain
PostgreSQL (see runner.py for the corpus format and the comparison rules).

    GRIDPG_ORACLE_SELF=1 pytest tests/oracle -q     # PostgreSQL vs PostgreSQL
    pytest tests/oracle -q                          # PostgreSQL vs gridpg
    GRIDPG_ORACLE_KEEP=1 ...                        # keep the oracle_* schemas

One test per corpus file; all mismatches of a file are reported in one assertion.
Outside self mode, 00_setup.sql's tables and rows are built once per run in a template
schema on both sides (compared as any file); each file's setup then creates the setup
tables it uses (runner.setup_statements_for) from the same statements and copies their
rows from there.
"""

from __future__ import annotations

import os

import pytest

from .runner import SETUP_FILE, build_template, corpus_files, drop_template, run_file

FILES = corpus_files()
TEMPLATE = "oracle_template"


@pytest.fixture(scope="module")
def oracle_template(oracle_pair, oracle_self_mode):
    """The template schema (None in self mode), dropped after the last file."""
    if oracle_self_mode:
        yield None
        return
    reference_dsn, subject_dsn = oracle_pair
    try:
        report = build_template(reference_dsn, subject_dsn, TEMPLATE)
        assert report.executed > 0
        if report.mismatches:
            pytest.fail("template: " + report.format(), pytrace=False)
        yield TEMPLATE
    finally:
        for dsn in (reference_dsn, subject_dsn):
            drop_template(dsn, TEMPLATE)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_oracle(path, oracle_pair, oracle_self_mode, oracle_template, request):
    reference_dsn, subject_dsn = oracle_pair
    subject_dsns = [subject_dsn]
    if not oracle_self_mode:  # every coordinator, for \connect
        cluster = request.getfixturevalue("gridpg_cluster")
        subject_dsns.extend(cluster.dsn(i) for i in range(1, len(cluster.topology.coordinators)))
    report = run_file(
        path,
        reference_dsn,
        subject_dsn,
        self_mode=oracle_self_mode,
        keep_schema=os.environ.get("GRIDPG_ORACLE_KEEP", "") not in ("", "0"),
        subject_dsns=subject_dsns,
        template=None if path == SETUP_FILE else oracle_template,  # its own \load's, as ever
    )
    assert report.executed > 0
    if report.mismatches:
        pytest.fail(report.format(), pytrace=False)
