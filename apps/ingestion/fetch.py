"""Reading an API MDC one bounded request at a time, a little ahead of the loader.

A background thread sends the requests of a pull in order (each window's device batches, window
after window), decodes each answer and hands it over through a small queue, so the next answer
is on its way while the current one is loaded (the MDC and PostgreSQL work in parallel). At most
``prefetch`` decoded answers wait in memory, whatever the size of the pull.

Transient failures (timeouts, connection errors, HTTP 5xx) are retried with exponential backoff
up to ``attempts`` times; then the error ends the pull. A read body that is not a UDIL message is
asked for again up to ``malformed_attempts`` times, then handed over as
:class:`MalformedPayload` to be quarantined (the pull goes on).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from apps.ingestion.windows import Window, request_bounds
from apps.udil.codec import decode_response, parse_status, response_rows
from apps.udil.errors import MalformedBody, MdcUnavailable, UdilStatusError

_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class MalformedPayload:
    body: bytes
    content_type: str | None
    reason: str


@dataclass
class FetchedBody:
    window: Window
    device_ids: list[str]
    result: list[dict[str, Any]] | MalformedPayload


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_DONE = object()


class ApiFetcher:
    """Iterates the answers to ``jobs`` (``(window, device_ids)`` pairs) in order.

    Use as a context manager; :meth:`next` returns the next :class:`FetchedBody` or raises the
    error that stopped the reading.
    """

    def __init__(
        self,
        client,
        dataset_code: str,
        jobs: Iterable[tuple[Window, list[str]]],
        *,
        attempts: int = 3,
        malformed_attempts: int = 2,
        backoff: float = 1.0,
        prefetch: int = 2,
    ) -> None:
        self.client = client
        self.dataset_code = dataset_code
        self.jobs: Iterator[tuple[Window, list[str]]] = iter(jobs)
        self.attempts = max(1, attempts)
        self.malformed_attempts = max(1, malformed_attempts)
        self.backoff = backoff
        self.retries = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work, name=f"ingestion-fetch-{dataset_code}", daemon=True
        )

    def __enter__(self) -> ApiFetcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:  # unblock a producer waiting on a full queue
                self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
        self._thread.join()

    def next(self) -> FetchedBody:
        item = self._queue.get()
        if isinstance(item, _Failure):
            raise item.error
        if item is _DONE:
            raise RuntimeError("no more answers: every request of the pull was read")
        return item

    # --- producer side ---------------------------------------------------------------------

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for window, device_ids in self.jobs:
                if self._stop.is_set():
                    return
                result = self._read(window, device_ids)
                if not self._put(FetchedBody(window, device_ids, result)):
                    return
            self._put(_DONE)
        except Exception as exc:  # handed to the consumer, which records it on the run
            self._put(_Failure(exc))

    def _sleep(self, attempt: int) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        self._stop.wait(delay)
        self.retries += 1

    def _read(
        self, window: Window, device_ids: list[str]
    ) -> list[dict[str, Any]] | MalformedPayload:
        """One request, retried: transport failures (and an unusable authorization answer) up
        to ``attempts`` times, a malformed read body up to ``malformed_attempts`` times."""
        start, end = request_bounds(window)
        failures = malformed = 0
        while True:
            try:
                body, content_type = self.client.read_raw(self.dataset_code, device_ids, start, end)
            except (MdcUnavailable, MalformedBody):
                # MalformedBody here: the authorization answer was unusable (no body to keep)
                failures += 1
                if failures >= self.attempts or self._stop.is_set():
                    raise
                self._sleep(failures)
                continue
            try:
                return _rows_of(body, content_type)
            except MalformedBody as exc:
                malformed += 1
                if malformed >= self.malformed_attempts or self._stop.is_set():
                    return MalformedPayload(body, content_type, str(exc))
                self._sleep(malformed)


def _rows_of(body: bytes, content_type: str | None) -> list[dict[str, Any]]:
    payload = decode_response(body, content_type, stringify=False)
    if parse_status(payload) != 1:
        message = payload.get("message")
        raise UdilStatusError(200, message if isinstance(message, str) else "", payload)
    return response_rows(payload)
