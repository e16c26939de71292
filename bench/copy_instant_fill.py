"""The cost of executor/copy_instant.filled (h-left25): 1M rows of COPY text (the
copy benchmark's shape) given one time default's value each, in process, no cluster:
`PYTHONPATH=src python bench/copy_instant_fill.py`."""
import asyncio
import time

from gridpg.executor import copy_instant
from gridpg.executor.copy_format import CopyFormat

rows = b"".join(b"%d\tname%d\t%d.50\n" % (i, i, i) for i in range(1_000_000))
chunks = [rows[i:i + 65536] for i in range(0, len(rows), 65536)]
async def src():
    for c in chunks:
        yield c
async def run(fmt):
    form = CopyFormat.plain(fmt, "\t" if fmt == "text" else ",")
    n = 0
    async for out in copy_instant.filled(src(), [b"2026-12-07 09:40:00.123456+00"], form, None):
        n += len(out)
    return n
for fmt in ("text",):
    t = time.perf_counter(); n = asyncio.run(run(fmt)); dt = time.perf_counter() - t
    print(f"{fmt}: 1M rows, {len(rows)/1e6:.1f} MB in, {n/1e6:.1f} MB out, {dt*1000:.0f} ms")
