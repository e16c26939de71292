"""relay.start_simple_prepared writes its Bind from a head remembered per literal-free
text and types: the bytes must be codec.build_bind's, with the Parse first on a connection
that has not prepared the statement."""

from __future__ import annotations

import pytest

from gridpg.executor import relay
from gridpg.pgwire import codec


class _Conn:
    def __init__(self) -> None:
        self.prepared: dict[str, str] = {}
        self.uncertain: set[str] = set()
        self.cycle_parsed: set[str] = set()
        self.sent: list[tuple[bytes, int]] = []

    def send(self, data: bytes, ready_owed: int) -> None:
        self.sent.append((data, ready_owed))


@pytest.mark.parametrize(("values", "types"), [
    (["12345"], (23,)),
    (["1", "22", None], (23, 23, 0)),
    (["h\u00e9llo", ""], (0, 0)),
])
def test_bind_bytes_equal_build_bind(values: list[str | None], types: tuple[int, ...]) -> None:
    text = "SELECT " + ", ".join(f"${i + 1}" for i in range(len(values)))
    name = relay.statement_name(text, types)
    expected = codec.build_bind("", name, [], [None if v is None else v.encode() for v in values], []) \
        + codec.build_describe("P", "") + codec.build_execute("", 0) + codec.SYNC
    fresh = _Conn()
    relay.start_simple_prepared(fresh, text, types, values)  # type: ignore[arg-type]
    assert fresh.sent == [(codec.build_parse(name, text, types) + expected, 1)]
    assert fresh.prepared == {name: text}
    relay.start_simple_prepared(fresh, text, types, values)  # type: ignore[arg-type]
    assert fresh.sent[1] == (expected, 1)
