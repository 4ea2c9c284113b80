"""A provider's webhook endpoint for tests: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Provider:
    """A provider's webhook endpoint: records each request, answers from ``script``
    (status, seconds to wait first), then 200 once the script is used up."""

    url: str = ""
    script: list[tuple[int, float]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reply: bytes = b'{"ok": true}'  # the body of a successful answer
    # Called (in its own thread, after the answer is sent) with each request answered 2xx:
    # a provider that acknowledges first and works afterwards.
    on_event: Callable[[Received], None] | None = None

    def answer(self, *statuses: int, delay: float = 0.0) -> None:
        self.script.extend((status, delay) for status in statuses)


@pytest.fixture
def provider_server() -> Iterator[Provider]:
    provider = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with provider.lock:
                this = Received(self.path, dict(self.headers), body)
                provider.received.append(this)
                status, delay = provider.script.pop(0) if provider.script else (200, 0.0)
            time.sleep(delay)
            payload = provider.reply if status < 400 else b"provider trouble"
            try:
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up waiting (a timeout test)
                return
            if provider.on_event is not None and 200 <= status < 300:
                threading.Thread(target=provider.on_event, args=(this,), daemon=True).start()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/the402"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
