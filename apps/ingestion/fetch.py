"""Reading an API MDC one bounded request at a time, a little ahead of the loader.

Worker threads send the requests of a pull (each window's device batches, window after window),
decode the answers and validate their rows (``DataSet.copy_rows``: COPY-ready text and rejects);
the loader takes them strictly in order. While one answer is loaded (COPY and merge: the loading
thread waits on PostgreSQL without the GIL) the next ones are on the wire (socket reads release
the GIL too) or being decoded, so the MDC, this process and PostgreSQL work in parallel. At most
``concurrency`` requests are in flight and ``prefetch`` answers wait in memory, whatever the size
of the pull.

Transient failures (timeouts, connection errors, HTTP 5xx) are retried with exponential backoff
up to ``attempts`` times; then the error ends the pull. A read body that is not a UDIL message is
asked for again up to ``malformed_attempts`` times, then handed over as
:class:`MalformedPayload` to be quarantined (the pull goes on).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.conf import settings

from apps.ingestion.windows import STATE_DATASETS, Window, request_bounds
from apps.udil.codec import decode_response, parse_status, response_rows
from apps.udil.datasets import DataSet
from apps.udil.errors import MalformedBody, MdcUnavailable, UdilStatusError
from apps.warehouse.guard import RowGuard, owned_device_ids


@dataclass(frozen=True)
class MalformedPayload:
    body: bytes
    content_type: str | None
    reason: str


@dataclass(frozen=True)
class SplitRows:
    """An answer's rows, validated: ``good`` COPY-ready text rows (``DataSet.copy_rows``),
    ``rejects`` ``(raw_row, reason)`` pairs for the quarantine."""

    good: list[list[str]]
    rejects: list[tuple[Any, str]]


@dataclass
class FetchedBody:
    """``digest``: a fingerprint of a clean answer (every row accepted), so that an answer
    identical to the one a window last loaded can skip the merge (see ``answer_digest``)."""

    window: Window
    device_ids: list[str]
    result: SplitRows | MalformedPayload
    digest: str | None = None


def answer_digest(body: bytes, good: list, dataset: DataSet) -> str:
    """The body as received, and which devices' rows were accepted and how many: the same
    answer to the same request, judged the same way (a meter registered since changes it)."""
    devices = sorted(set(map(itemgetter(dataset.field_names.index("global_device_id")), good)))
    digest = hashlib.blake2b(body, digest_size=20)
    digest.update(f"\0{len(good)}\0{chr(9).join(devices)}".encode())
    return digest.hexdigest()


class ApiFetcher:
    """The answers to ``jobs`` (``(window, device_ids)`` pairs), in order.

    Use as a context manager; :meth:`next` returns the next :class:`FetchedBody` or raises the
    error that stopped the reading of that request.
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
        concurrency: int = 1,
        guard_for: Callable[[Window, list[str]], RowGuard] | None = None,
    ) -> None:
        self.client = client
        self.guard_for = guard_for
        self.dataset_code = dataset_code
        self.jobs: Iterator[tuple[Window, list[str]]] = iter(jobs)
        self.attempts = max(1, attempts)
        self.malformed_attempts = max(1, malformed_attempts)
        self.backoff = backoff
        self.retries = 0
        self._ahead = max(1, prefetch, concurrency)
        self._pending: deque[Future] = deque()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix=f"ingestion-{dataset_code}"
        )

    def __enter__(self) -> ApiFetcher:
        self._fill()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # retry sleeps end at once
        for future in self._pending:
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def _fill(self) -> None:
        while len(self._pending) < self._ahead and not self._stop.is_set():
            job = next(self.jobs, None)
            if job is None:
                return
            window, device_ids = job
            self._pending.append(self._executor.submit(self._fetch, window, device_ids))

    def next(self) -> FetchedBody:
        if not self._pending:
            raise RuntimeError("no more answers: every request of the pull was read")
        future = self._pending.popleft()
        try:
            return future.result()
        finally:
            self._fill()

    # --- worker side -----------------------------------------------------------------------

    def _fetch(self, window: Window, device_ids: list[str]) -> FetchedBody:
        body, result = self._read(window, device_ids)
        if isinstance(result, MalformedPayload):
            return FetchedBody(window, device_ids, result)
        if self.guard_for is not None:
            # rows of meters the MDC does not own, or outside the window, are refused here (in
            # the fetch thread, beside validation) and quarantined with the malformed ones
            kept, refused = self.guard_for(window, device_ids).split(result.good)
            if refused:
                result = SplitRows(kept, [*result.rejects, *refused])
        digest = None
        if not result.rejects:
            dataset = self.client.profile.dataset(self.dataset_code)  # the MDC's profile's
            digest = answer_digest(body, result.good, dataset)
        return FetchedBody(window, device_ids, result, digest)

    def _sleep(self, attempt: int) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        self._stop.wait(delay)
        with self._lock:
            self.retries += 1

    def _read(
        self, window: Window, device_ids: list[str]
    ) -> tuple[bytes, SplitRows | MalformedPayload]:
        """One request, retried: transport failures (and an unusable authorization answer) up
        to ``attempts`` times, a malformed read body up to ``malformed_attempts`` times.
        Returns the last body and its rows."""
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
                dataset = self.client.profile.dataset(self.dataset_code)
                return body, _split_of(body, content_type, dataset)
            except MalformedBody as exc:
                malformed += 1
                if malformed >= self.malformed_attempts or self._stop.is_set():
                    return body, MalformedPayload(body, content_type, str(exc))
                self._sleep(malformed)


def _split_of(body: bytes, content_type: str | None, dataset: DataSet) -> SplitRows:
    """An answer's rows, validated. A JSON answer in the usual shape is read straight into
    COPY-ready rows (``DataSet.copy_rows_json``: no dict per row); any other goes through
    ``decode_response`` and ``DataSet.copy_rows``. Same rows, same rejects either way."""
    if body[:1] == b"{":  # JSON, whatever the Content-Type says (decode_response sniffs so)
        fast = dataset.copy_rows_json(body)
        if fast is not None:
            payload, good, rejects = fast
            _status_check(payload)
            return SplitRows(good, rejects)
    return SplitRows(*dataset.copy_rows(_rows_of(body, content_type)))


def _status_check(payload: dict[str, Any]) -> None:
    if parse_status(payload) != 1:
        message = payload.get("message")
        raise UdilStatusError(200, message if isinstance(message, str) else "", payload)


def _rows_of(body: bytes, content_type: str | None) -> list[dict[str, Any]]:
    payload = decode_response(body, content_type, stringify=False)
    _status_check(payload)
    return response_rows(payload)


# --- a pull's fetcher ------------------------------------------------------------------------


def retry_policy() -> tuple[int, int, float]:
    """(attempts per request, attempts per malformed body, first backoff in seconds)."""
    attempts = int(settings.INGESTION_REQUEST_ATTEMPTS)
    malformed = int(settings.INGESTION_MALFORMED_ATTEMPTS)
    backoff = float(settings.INGESTION_RETRY_BACKOFF_SECONDS)
    return max(1, attempts), max(1, malformed), max(0.0, backoff)


def window_tolerance() -> dt.timedelta:
    return dt.timedelta(minutes=max(0, settings.INGESTION_WINDOW_TOLERANCE_MINUTES))


def row_guard_factory(mdc, dataset_code: str):
    """``guard_for(window, device_ids)``: which rows of an answer this MDC may store (its own
    registered meters, inside the requested span with the tolerance)."""
    owned = owned_device_ids(mdc_id=mdc.pk)
    tolerance = window_tolerance()

    def guard_for(window: Window, _device_ids: list[str]) -> RowGuard:
        if dataset_code in STATE_DATASETS:
            return RowGuard(dataset_code, owned)
        start, end = request_bounds(window)
        return RowGuard(dataset_code, owned, start - tolerance, end + tolerance)

    return guard_for


def api_fetcher(client, mdc, dataset_code: str, jobs) -> ApiFetcher:
    attempts, malformed_attempts, backoff = retry_policy()
    return ApiFetcher(
        client,
        dataset_code,
        jobs,
        attempts=attempts,
        malformed_attempts=malformed_attempts,
        backoff=backoff,
        prefetch=int(settings.INGESTION_PREFETCH),
        concurrency=int(settings.INGESTION_CONCURRENT_REQUESTS),
        guard_for=row_guard_factory(mdc, dataset_code),
    )


def answer_source(prefix: str, fetched: FetchedBody) -> str:
    devices = fetched.device_ids
    return f"{prefix} {fetched.window} device {devices[0]}" + (
        f"..{devices[-1]} ({len(devices)})" if len(devices) > 1 else ""
    )
