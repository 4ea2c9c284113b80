"""The load test's provider: a real HTTP server on 127.0.0.1 that receives the marketplace's
webhooks, checks their signatures, answers data API requests and records every event id it
was sent (the fault run checks each delivery reached it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Provider:
    def __init__(self) -> None:
        self.secret = ""
        self.received: set[str] = set()
        self.bad_signatures = 0
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = provider.handle(dict(self.headers.items()), body)
                data = json.dumps(answer[1]).encode()
                self.send_response(answer[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Provider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        timestamp = headers.get("X-Webhook-Timestamp", "")
        expected = hmac.new(
            self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        signature = headers.get("X-Webhook-Signature", "").removeprefix("sha256=")
        if not self.secret or not hmac.compare_digest(expected, signature):
            with self.lock:
                self.bad_signatures += 1
            return 401, {"error": "bad signature"}
        try:
            if abs(time.time() - int(timestamp)) > 300:
                return 401, {"error": "stale"}
            event = json.loads(body)
        except ValueError:
            return 400, {"error": "bad body"}
        with self.lock:
            self.received.add(headers.get("X-Webhook-Id", ""))
            self.received.add(str(event.get("event_id", "")))
        if event.get("type") == "job_dispatch" and not event.get("callback_url"):
            return 200, {"rows": [{"keyword": "load test", "volume": 1000}]}
        return 200, {"ok": True}
