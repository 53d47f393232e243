"""A fake vendor MDC over real HTTP (a tiny ``http.server`` in a thread) that answers UDIL with
whatever a test tells it: rows of meters it does not own, rows outside the window, bad bodies.

    with HostileMdc(answer) as fake:        # answer(service, form) -> (status, body bytes)
        mdc = MdcFactory(base_url=fake.url)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

Answer = Callable[[str, dict[str, str]], tuple[int, bytes]]


def json_body(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def read_answer(rows: list[dict]) -> bytes:
    return json_body({"status": "1", "message": f"{len(rows)} rows", "data": rows})


class HostileMdc:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                service = self.path.rstrip("/").rsplit("/", 1)[-1]
                outer.requests.append((service, form))
                if service == "authorization_service":
                    status, body = (
                        200,
                        json_body({"status": "1", "message": "ok", "privatekey": "hostile-key"}),
                    )
                else:
                    status, body = outer.answer(service, form)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> HostileMdc:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
