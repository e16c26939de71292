"""The GTM storage's replication helpers (gtm/storage.py): a batch per commit, applied in
order on a standby's storage, or a whole dump loaded at once; local keys never travel."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpg.gtm.storage import Decision, Storage, build_sequence


def test_batches_applied_in_order_give_the_same_rows(tmp_path: Path) -> None:
    primary, standby = Storage(tmp_path / "a"), Storage(tmp_path / "b")
    try:
        primary.save_local("role", "primary")
        standby.save_local("role", "standby")
        primary.save_meta("gxid_hwm", 11_000)
        primary.save_sequence(build_sequence("s", None, 1, None, None, False))
        first = primary.commit()
        primary.save_decision(Decision("gridpg_7_coord1", ["dn1", "dn2"], 123))
        primary.save_barrier("b1", 5, {"dn1": "0/1"}, {"walfiles": {"dn1": "000000010000000000000001"}})
        second = primary.commit()
        assert primary.lsn == 2 and first and second
        assert primary.commit() == [] and primary.lsn == 2  # nothing to commit: no batch
        standby.apply_batch(1, first)
        standby.apply_batch(2, second)
        assert standby.lsn == 2
        assert standby.dump_state() == primary.dump_state()
        assert standby.load_local("role") == "standby"  # never replicated
        assert standby.load_barriers()[0]["detail"]["walfiles"] == {"dn1": "000000010000000000000001"}
    finally:
        primary.close()
        standby.close()


def test_a_dump_replaces_everything_but_the_local_keys(tmp_path: Path) -> None:
    primary, standby = Storage(tmp_path / "a"), Storage(tmp_path / "b")
    try:
        standby.save_local("term", 3)
        standby.save_meta("epoch", 99)  # a row the primary does not have: must go
        standby.commit()
        primary.save_meta("epoch", 4)
        primary.save_tombstone("gridpg_1_c", 1)
        primary.commit()
        primary.save_meta("epoch", 5)  # open, uncommitted: not in the dump
        lsn, tables = primary.dump_state()
        assert lsn == 1
        standby.load_state(lsn, tables)
        assert standby.load_meta("epoch", 0) == 4
        assert standby.load_tombstones() == {"gridpg_1_c": 1}
        assert standby.load_local("term") == 3 and standby.lsn == 1
    finally:
        primary.commit()
        primary.close()
        standby.close()


def test_a_batch_that_fails_leaves_the_standby_unchanged(tmp_path: Path) -> None:
    standby = Storage(tmp_path / "b")
    try:
        with pytest.raises(Exception, match="no such table"):
            standby.apply_batch(1, [("INSERT INTO meta (key, value) VALUES (?, ?)", ["x", 1]),
                                    ("INSERT INTO nowhere VALUES (1)", [])])
        assert standby.lsn == 0 and standby.load_meta("x", -1) == -1
    finally:
        standby.close()
