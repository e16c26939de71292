"""executor/copylines.py: a datanode's COPY line numbers mapped to the client's. Pure; the
same numbers against plain PostgreSQL are in tests/integration/test_copy_lines.py."""

from __future__ import annotations

import numpy as np

from gridpg.executor.copylines import CopyLines


def test_records_map_back_to_the_clients_lines_per_group() -> None:
    lines = CopyLines(["dn2", "dn1"], lines_before=1)  # a header line
    for group in ("dn1", "dn2", "dn2", None, "dn1"):  # None: skipped by the coordinator
        lines.add_record(group)
    assert [lines.client_line("dn1", n) for n in (1, 2)] == [2, 6]
    assert [lines.client_line("dn2", n) for n in (1, 2)] == [3, 4]
    assert lines.client_line("dn1", 3) is None and lines.client_line("dn3", 1) is None


def test_a_vectorised_block_and_records_count_in_order() -> None:
    lines = CopyLines(["dn1", "dn2"], lines_before=0)
    lines.add_record("dn2")
    lines.add_block(np.array([1, 0, 1], dtype=np.int64), ["dn2", "dn1"])
    lines.add_record("dn1")
    assert [lines.client_line("dn1", n) for n in (1, 2, 3)] == [2, 4, 5]
    assert lines.client_line("dn2", 1) == 1 and lines.client_line("dn2", 2) == 3


def test_quoted_newlines_of_the_first_record_do_not_count_as_in_postgresql() -> None:
    lines = CopyLines(["dn1", "dn2"], lines_before=0)
    lines.add_record("dn1", 3)  # client lines 1-3, reported as line 1
    lines.add_record("dn2", 2)  # 4-5 physically: PostgreSQL says 3
    lines.add_record("dn2", 1)  # PostgreSQL: 4
    lines.add_record("dn1", 2)  # PostgreSQL: 6
    assert lines.client_line("dn1", 1) == 1 and lines.client_line("dn1", 3) == 6
    assert lines.client_line("dn2", 1) == 3 and lines.client_line("dn2", 2) == 4  # dn2's first: 1 line counted
    with_header = CopyLines(["dn1"], lines_before=1)
    with_header.add_record("dn1", 3)
    assert with_header.client_line("dn1", 1) == 4  # after a header line the client counts them


def test_notices_and_contexts_are_rewritten_and_others_kept() -> None:
    lines = CopyLines(["dn1", "dn2"], lines_before=0)
    for group in ("dn2", "dn1", "dn2", "dn1"):
        lines.add_record(group)
    skipped = {"S": "NOTICE", "M": 'skipping row due to data type incompatibility at line 2 for column "b": "x"'}
    assert lines.rewrite_skipped_row("dn1", skipped) == (4, {
        "S": "NOTICE", "M": 'skipping row due to data type incompatibility at line 4 for column "b": "x"'})
    assert lines.rewrite_skipped_row("dn1", {"M": "something else"}) is None
    error = {"M": "bad", "W": 'COPY t, line 2, column b: "x"'}
    assert lines.rewrite_context("dn2", error)["W"] == 'COPY t, line 3, column b: "x"'
    assert lines.rewrite_context("dn2", {"M": "no context"}) == {"M": "no context"}
    replicated = CopyLines(["dn1", "dn2"], lines_before=1, replicated=True)
    assert replicated.client_line("dn2", 5) == 6
