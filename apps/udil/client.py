"""MDM-side HTTP client of one MDC.

:class:`MdcClient` authorizes, caches the private key and renews it before it
expires (and once on a 401, retrying the call once), encodes requests, decodes
JSON or XML answers and maps failures to typed errors:

* :class:`~apps.udil.errors.UdilStatusError` - the MDC answered status 0 or HTTP 4xx;
* :class:`~apps.udil.errors.MdcUnavailable` - timeout, connection error, HTTP 5xx
  (callers own retries);
* :class:`~apps.udil.errors.MalformedBody` - the answer is not a UDIL message.
"""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from .catalog import Service
from .codec import (
    DEFAULT_MAX_BYTES,
    FORM_CONTENT_TYPE,
    decode_response,
    encode_request,
    parse_status,
    response_rows,
)
from .errors import MalformedBody, MdcUnavailable, UdilError, UdilStatusError
from .profiles import PROFILE_2019, Profile
from .timefmt import now_pkt

__all__ = ["MdcClient", "MdcUnavailable"]


class MdcClient:
    """Client of one MDC.

    ``fmt`` ("json" | "xml") is the MDC's registered format (sent as Accept; the
    answer is still decoded by its Content-Type). ``credentials_in`` is where
    the MDC expects username/password/code ("headers" | "form" | "both").
    ``path_overrides`` maps service names to paths (or absolute URLs).
    ``clock`` returns monotonic seconds (injectable for tests). ``http`` is an
    httpx.Client to share a pool (not closed by :meth:`close`).
    Thread-safe: one client may serve several threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str,
        password: str,
        code: str,
        fmt: str = "json",
        credentials_in: str = "headers",
        path_overrides: Mapping[str, str] | None = None,
        profile: Profile = PROFILE_2019,
        timeout: float = 30.0,
        key_lifetime: timedelta = timedelta(minutes=30),
        renew_margin: timedelta = timedelta(minutes=2),
        http: httpx.Client | None = None,
        clock: Callable[[], float] = _time.monotonic,
        max_bytes: int = DEFAULT_MAX_BYTES,
        verify: bool | str = True,
    ) -> None:
        if fmt not in ("json", "xml"):
            raise ValueError(f"fmt must be 'json' or 'xml', got {fmt!r}")
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.code = code
        self.fmt = fmt
        self.credentials_in = credentials_in
        self.path_overrides = dict(path_overrides or {})
        self.profile = profile
        self.timeout = timeout
        self.key_lifetime = key_lifetime.total_seconds()
        self.renew_margin = renew_margin.total_seconds()
        self.max_bytes = max_bytes
        self.clock = clock
        self._own_http = http is None
        self.http = http or httpx.Client(
            timeout=timeout,
            verify=verify,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )
        self._lock = threading.Lock()
        self._key: str | None = None
        self._key_expires = 0.0
        #: number of successful authorizations (for monitoring and tests)
        self.authorizations = 0

    # ------------------------------------------------------------ plumbing
    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> MdcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url_for(self, service_name: str) -> str:
        path = self.profile.path_for(service_name, self.path_overrides)
        return path if "://" in path else f"{self.base_url}/{path}"

    def _post(
        self, svc: Service, headers: Mapping[str, str], form: Mapping[str, str]
    ) -> tuple[int, bytes, str | None]:
        """POST a form; return (status code, body, content type). Transport
        failures and 5xx -> MdcUnavailable; bodies over max_bytes -> MalformedBody."""
        accept = "application/json" if self.fmt == "json" else "application/xml"
        all_headers = {"Accept": accept, "Content-Type": FORM_CONTENT_TYPE, **headers}
        url = self.url_for(svc.name)
        try:
            with self.http.stream(
                "POST", url, headers=all_headers, data=dict(form), timeout=self.timeout
            ) as resp:
                if resp.status_code >= 500:
                    raise MdcUnavailable(
                        f"{svc.name}: MDC answered HTTP {resp.status_code}", resp.status_code
                    )
                length = resp.headers.get("content-length")
                if length and length.isdigit() and int(length) > self.max_bytes:
                    raise MalformedBody(
                        f"{svc.name}: body of {length} bytes exceeds the limit of "
                        f"{self.max_bytes} bytes"
                    )
                chunks = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise MalformedBody(
                            f"{svc.name}: body exceeds the limit of {self.max_bytes} bytes"
                        )
                    chunks.append(chunk)
                return resp.status_code, b"".join(chunks), resp.headers.get("content-type")
        except httpx.TimeoutException as exc:
            raise MdcUnavailable(f"{svc.name}: timeout ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:  # connection refused/reset, protocol errors
            raise MdcUnavailable(f"{svc.name}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _message(body: bytes, content_type: str | None) -> tuple[str, dict[str, Any] | None]:
        try:
            payload = decode_response(body, content_type)
        except MalformedBody:
            text = body[:200].decode("utf-8", "replace").strip()
            return text, None
        message = payload.get("message")
        return (message if isinstance(message, str) else ""), payload

    def _check_http(self, svc: Service, code: int, body: bytes, ct: str | None) -> None:
        if 200 <= code < 300:
            return
        message, payload = self._message(body, ct)
        if 400 <= code < 500:
            raise UdilStatusError(code, message, payload)
        raise MdcUnavailable(f"{svc.name}: unexpected HTTP {code}", code)

    # ------------------------------------------------------------ auth
    def authorize(self) -> str:
        """Get a new private key from authorization_service and cache it."""
        svc = self.profile.service("authorization_service")
        headers, form = encode_request(
            svc,
            {"username": self.username, "password": self.password, "code": self.code},
            credentials_in=self.credentials_in,
        )
        code, body, ct = self._post(svc, headers, form)
        self._check_http(svc, code, body, ct)
        payload = decode_response(body, ct, max_bytes=self.max_bytes)
        if parse_status(payload) != 1:
            message = payload.get("message")
            raise UdilStatusError(code, message if isinstance(message, str) else "", payload)
        key = payload.get("privatekey")
        if not isinstance(key, str) or not key.strip():
            raise MalformedBody("authorization_service answered without a privatekey")
        self._key = key.strip()
        self._key_expires = self.clock() + self.key_lifetime
        self.authorizations += 1
        return self._key

    def privatekey(self, *, renew: bool = False) -> str:
        """The cached key, renewed when ``renew`` or within renew_margin of expiry."""
        with self._lock:
            if renew or self._key is None or self.clock() >= self._key_expires - self.renew_margin:
                return self.authorize()
            return self._key

    def forget_key(self) -> None:
        with self._lock:
            self._key = None

    # ------------------------------------------------------------ calls
    def _exchange(
        self, service_name: str, params: Mapping[str, Any] | None, transactionid: str | None
    ) -> tuple[int, bytes, str | None]:
        svc = self.profile.service(service_name)
        if svc.kind == "auth":
            raise UdilError("use authorize() for authorization_service")
        headers, form = encode_request(svc, params or {}, transactionid=transactionid)
        used = self.privatekey()
        code, body, ct = self._post(svc, {**headers, "privatekey": used}, form)
        if code == 401:
            with self._lock:  # another thread may have renewed already
                fresh = self._key if self._key and self._key != used else None
            key = fresh or self.privatekey(renew=True)
            code, body, ct = self._post(svc, {**headers, "privatekey": key}, form)
        self._check_http(svc, code, body, ct)
        return code, body, ct

    def call(
        self,
        service_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        transactionid: str | None = None,
    ) -> dict[str, Any]:
        """Call a service; return the decoded payload (status 1).

        On HTTP 401 the key is renewed once and the call retried once. Raises
        UdilStatusError (status 0 / HTTP 4xx, with the MDC's message),
        MdcUnavailable, MalformedBody, or ValidationErrors for bad params.
        """
        code, body, ct = self._exchange(service_name, params, transactionid)
        payload = decode_response(body, ct, max_bytes=self.max_bytes)
        if parse_status(payload) != 1:
            message = payload.get("message")
            raise UdilStatusError(code, message if isinstance(message, str) else "", payload)
        return payload

    def read_raw(
        self,
        dataset_code: str,
        device_ids: Iterable[str],
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> tuple[bytes, str | None]:
        """Read API of a data set, undecoded: ``(body, content_type)`` for fast
        paths (decode with ``decode_response(..., stringify=False)`` and check
        ``parse_status``). HTTP errors are raised as in :meth:`call`."""
        svc = self.profile.read_service(dataset_code)
        params = {
            "global_device_id": list(device_ids),
            "start_datetime": start,
            "end_datetime": end,
        }
        _, body, ct = self._exchange(svc.name, params, None)
        return body, ct

    def read(
        self,
        dataset_code: str,
        device_ids: Iterable[str],
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> list[dict[str, Any]]:
        """Read API of a data set -> list of raw row dicts (strings)."""
        svc = self.profile.read_service(dataset_code)
        payload = self.call(
            svc.name,
            {"global_device_id": list(device_ids), "start_datetime": start, "end_datetime": end},
        )
        return response_rows(payload)

    def send_command(
        self, service_name: str, params: Mapping[str, Any], transactionid: str
    ) -> dict[str, Any]:
        """A write command (or on_demand_request). ``request_datetime`` defaults
        to now. Returns the payload; see codec.response_devices for per-device status."""
        svc = self.profile.service(service_name)
        if svc.kind not in ("write", "on_demand", "cancel"):
            raise UdilError(f"{service_name} is not a command")
        params = dict(params)
        if "request_datetime" in {p.name for p in svc.params} and not params.get(
            "request_datetime"
        ):
            params["request_datetime"] = now_pkt()
        return self.call(svc.name, params, transactionid=transactionid)

    def on_demand(
        self,
        type_code: str,
        device_ids: Iterable[str],
        transactionid: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> dict[str, Any]:
        """on_demand_request of ``type_code`` (INST, BILL, MBIL, LPRO, EVNT, VISL)."""
        return self.send_command(
            "on_demand_request",
            {
                "global_device_id": list(device_ids),
                "type": type_code,
                "start_datetime": start,
                "end_datetime": end,
            },
            transactionid,
        )

    def transaction_status(self, transactionids: str | Iterable[str]) -> list[dict[str, Any]]:
        """Rows of TRANSACTION_STATUS for one or several transaction ids."""
        ids = [transactionids] if isinstance(transactionids, str) else list(transactionids)
        payload = self.call("transaction_status", {"transactionid": ids})
        return response_rows(payload)

    def transaction_cancel(
        self,
        transactionid: str,
        device_ids: Iterable[str],
        request_datetime: datetime | None = None,
    ) -> dict[str, Any]:
        """Cancel a transaction for devices (honoured at status level 0-2)."""
        return self.call(
            "transaction_cancel",
            {
                "global_device_id": list(device_ids),
                "request_datetime": request_datetime or now_pkt(),
            },
            transactionid=transactionid,
        )
