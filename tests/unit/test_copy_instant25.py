"""copy_instant.filled: the time defaults' fields appended to every record, whether a chunk
takes the bytes path (one replace) or is cut into records (a carriage return, an end
marker, a CSV quote), however the client's chunks cut the records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gridpg.executor import copy_instant
from gridpg.executor.copy_format import CopyFormat


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at:at + size]


def _filled(data: bytes, form: CopyFormat, size: int) -> bytes:
    async def run() -> bytes:
        return b"".join([c async for c in copy_instant.filled(_chunks(data, size), [b"T1", b"D"], form, None)])  # type: ignore[arg-type]
    return asyncio.run(run())


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_text_records(size: int) -> None:
    form = CopyFormat.plain("text", "\t")
    assert _filled(b"1\ta\n2\tb\n", form, size) == b"1\ta\tT1\tD\n2\tb\tT1\tD\n"
    assert _filled(b"1\ta\r\n2\tb\r\n", form, size) == b"1\ta\tT1\tD\n2\tb\tT1\tD\n"
    assert _filled(b"1\ta\n\\.\n", form, size) == b"1\ta\tT1\tD\n"
    assert _filled(b"1\ta\n2\tb", form, size) == b"1\ta\tT1\tD\n2\tb\tT1\tD\n"


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_csv_records(size: int) -> None:
    form = CopyFormat.plain("csv", ",")
    assert _filled(b'1,"a\nb"\n2,c\n', form, size) == b'1,"a\nb",T1,D\n2,c,T1,D\n'
    assert _filled(b"1,a\n2,c\n", form, size) == b"1,a,T1,D\n2,c,T1,D\n"


def test_fields_are_escaped() -> None:
    text, csv = CopyFormat.plain("text", "\t"), CopyFormat.plain("csv", ",")
    assert copy_instant._field("a\tb\\c\n", text) == b"a\\\tb\\\\c\\n"
    assert copy_instant._field(None, text) == b"\\N"
    assert copy_instant._field('a,"b', csv) == b'"a,""b"'
    assert copy_instant._field("", csv) == b'""'
    assert copy_instant._field(None, csv) == b""
