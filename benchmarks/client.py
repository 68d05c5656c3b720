"""The load side of the stream benchmark, run in its own process so it doesn't share the server's CPU
accounting: holds N event streams over raw sockets and records when each comment event arrives.

Protocol with the parent (stdin/stdout, one line each): prints ``READY`` once every stream got
its first count; then prints one JSON line ``{comment_id: [arrival times]}`` when each stream
has seen ``--events`` comment events, or when ``--timeout`` runs out.

With ``--counts-of KEY`` (list-page streams, which carry counts only) an arrival is a ``count``
event for KEY above ``--after-count``, and the JSON is keyed by that count instead.
"""

import argparse
import asyncio
import json
import re
import sys
import time
from collections import defaultdict

COMMENT_ID = re.compile(rb'event: comment\ndata: \{"id":(\d+)')


def count_pattern(key: str) -> re.Pattern:
    return re.compile(rb'event: count\ndata: \{"article":"' + re.escape(key.encode()) + rb'","count":(\d+)\}')


async def hold_stream(host: str, port: int, path: str, opened: asyncio.Event, arrivals, expected: int, done,
                      pattern: re.Pattern = COMMENT_ID, after: int = -1):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    buffer = b""
    while b"event: count" not in buffer:
        chunk = await reader.read(65536)
        if not chunk:
            raise ConnectionError("stream closed before its first event")
        buffer += chunk
    opened.set()
    seen, buffer = 0, b""
    while seen < expected:
        chunk = await reader.read(65536)
        now = time.time()
        if not chunk:
            break
        *frames, buffer = (buffer + chunk).split(b"\n\n")
        for frame in frames:
            if (match := pattern.search(frame)) and int(match.group(1)) > after:
                arrivals[int(match.group(1))].append(now)
                seen += 1
    done()
    writer.close()


async def main(args) -> None:
    arrivals: dict[int, list[float]] = defaultdict(list)
    finished = asyncio.Event()
    remaining = args.streams

    def done():
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            finished.set()

    tasks, gate = [], asyncio.Semaphore(args.ramp)
    pattern = count_pattern(args.counts_of) if args.counts_of else COMMENT_ID

    async def open_one():
        async with gate:
            opened = asyncio.Event()
            tasks.append(asyncio.create_task(
                hold_stream(args.host, args.port, args.path, opened, arrivals, args.events, done,
                            pattern, args.after_count)
            ))
            await opened.wait()

    await asyncio.wait_for(asyncio.gather(*(open_one() for _ in range(args.streams))), args.timeout)
    print("READY", flush=True)
    try:
        await asyncio.wait_for(finished.wait(), args.timeout)
    except TimeoutError:
        pass
    print(json.dumps(arrivals), flush=True)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--ramp", type=int, default=50, help="streams being opened at once")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--counts-of", default="", help="list streams: wait for count events of this key")
    parser.add_argument("--after-count", type=int, default=-1, help="list streams: counts at or below are old")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
