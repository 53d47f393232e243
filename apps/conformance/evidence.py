"""Evidence of a conformance run: every HTTP exchange with the MDC is recorded by an httpx
transport (request and answer excerpts), with secrets redacted before anything is stored."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

EXCERPT_CHARS = 1200
#: exchanges kept per check (the first and the last ones: the rest are repetitions of polls)
KEPT_PER_CHECK = 8
SECRET_NAMES = frozenset({"password", "code", "privatekey", "authorization"})
REDACTED = "••••"
_KEY_JSON = re.compile(r'("privatekey"\s*:\s*")[^"]*(")', re.IGNORECASE)
_KEY_XML = re.compile(r"(<privatekey>)[^<]*(</privatekey>)", re.IGNORECASE)


class Redactor:
    """Knows the secrets of one run (password, auth code, every private key seen) and hides
    them: by name in headers and form fields, by value anywhere in a body."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # short values (an auth code like "223") would blank ordinary numbers in bodies: they
        # are redacted by field name only
        if secret and len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)

    def text(self, text: str) -> str:
        text = _KEY_JSON.sub(rf"\g<1>{REDACTED}\g<2>", text)
        text = _KEY_XML.sub(rf"\g<1>{REDACTED}\g<2>", text)
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text

    def pairs(self, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
        return {
            k: (REDACTED if k.lower() in SECRET_NAMES else self.text(v)[:EXCERPT_CHARS])
            for k, v in pairs
        }


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    if len(text) > EXCERPT_CHARS:
        return f"{text[:EXCERPT_CHARS]}… ({len(body)} bytes)"
    return text


class RecordingTransport(httpx.BaseTransport):
    """Wraps the real transport; keeps every exchange (redacted) in ``log``."""

    SHOWN_HEADERS = frozenset(
        {"transactionid", "privatekey", "username", "password", "code", "accept", "content-type"}
    )

    def __init__(self, redactor: Redactor, *, verify: bool | str = True) -> None:
        self.inner = httpx.HTTPTransport(verify=verify)
        self.redactor = redactor
        self.log: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        entry: dict[str, Any] = {
            "request": {
                "method": request.method,
                "path": urlsplit(str(request.url)).path,
                "headers": self.redactor.pairs(
                    (k, v) for k, v in request.headers.items() if k.lower() in self.SHOWN_HEADERS
                ),
                "form": self.redactor.pairs(parse_qsl(body.decode("utf-8", "replace"))),
            }
        }
        try:
            response = self.inner.handle_request(request)
            content = response.read()
            response.close()
        except httpx.HTTPError as exc:
            entry["response"] = {"error": f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS]}
            self._append(entry)
            raise
        # the body is read (decoded) here: the headers that described the raw stream go
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        entry["response"] = {
            "status": response.status_code,
            "content_type": response.headers.get("content-type", ""),
            "body": self.redactor.text(_excerpt(content)),
        }
        self._append(entry)
        return httpx.Response(
            response.status_code, headers=headers, content=content, request=request
        )

    def _append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.log.append(entry)

    def mark(self) -> int:
        with self._lock:
            return len(self.log)

    def since(self, mark: int) -> list[dict[str, Any]]:
        with self._lock:
            entries = self.log[mark:]
        if len(entries) <= KEPT_PER_CHECK:
            return list(entries)
        half = KEPT_PER_CHECK // 2
        skipped = {"skipped": len(entries) - 2 * half}
        return [*entries[:half], skipped, *entries[-half:]]
