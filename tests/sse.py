"""A minimal in-process ASGI client for event streams: drives the real application object."""

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class ServerSentEvent:
    id: int | None
    event: str
    data: object


def parse_frames(buffer: bytes) -> tuple[list[ServerSentEvent | str], bytes]:
    """Complete frames in ``buffer`` (events, or comment lines as str) and the unparsed rest."""
    items = []
    while b"\n\n" in buffer:
        frame, buffer = buffer.split(b"\n\n", 1)
        fields, comments = {}, []
        for line in frame.decode().split("\n"):
            if line.startswith(":"):
                comments.append(line[1:].strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                fields[name] = value.removeprefix(" ")
        if "event" in fields or "data" in fields:
            event_id = fields.get("id")
            items.append(ServerSentEvent(int(event_id) if event_id else None, fields.get("event", "message"),
                                         json.loads(fields.get("data", "null"))))
        items.extend(comments)
    return items, buffer


class StreamClient:
    """Opens one request against an ASGI app and reads its body as server-sent events."""

    def __init__(self, app, path: str, headers: dict[str, str] | None = None):
        url = urlsplit(path)
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": url.path, "raw_path": url.path.encode(), "query_string": url.query.encode(),
            "root_path": "", "headers": [(b"host", b"127.0.0.1")] + [
                (k.lower().encode(), v.encode()) for k, v in (headers or {}).items()
            ],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
        }
        self.app = app
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self._messages: asyncio.Queue = asyncio.Queue()
        self._disconnect = asyncio.Event()
        self._sent_request = False
        self._items: list = []
        self._rest = b""

    async def _receive(self):
        if not self._sent_request:
            self._sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._disconnect.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message):
        await self._messages.put(message)

    async def __aenter__(self):
        self.task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        start = await asyncio.wait_for(self._messages.get(), 10)
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return self

    async def __aexit__(self, *exc):
        self._disconnect.set()
        await asyncio.wait_for(self.task, 10)

    async def read_body(self) -> bytes:
        """The whole body of a response that ends (errors)."""
        while True:
            message = await asyncio.wait_for(self._messages.get(), 10)
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                return self.body

    async def next_item(self, timeout: float = 5.0):
        """The next event (or comment line) on the stream."""
        while not self._items:
            message = await asyncio.wait_for(self._messages.get(), timeout)
            items, self._rest = parse_frames(self._rest + message.get("body", b""))
            self._items.extend(items)
        return self._items.pop(0)

    async def next_event(self, timeout: float = 5.0) -> ServerSentEvent:
        """The next event within ``timeout`` seconds, skipping comment lines (heartbeats)."""
        async with asyncio.timeout(timeout):
            while True:
                item = await self.next_item(timeout)
                if isinstance(item, ServerSentEvent):
                    return item
