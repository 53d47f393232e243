"""The conformance suite: one method per group of checks of the catalogue, run against one
registered MDC over its real interface. Every request goes through the recording transport, so
each check keeps the request and answer excerpts that justify its verdict.

Checks talk to the MDC with the protocol package (``MdcClient`` for authorization, the codec
for requests) but read answers strictly (``stringify=False``): the MDM's decoder is liberal on
purpose, a conformance bench must not be.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from apps.conformance import catalogue as cat
from apps.conformance.choices import CheckOutcome
from apps.conformance.evidence import RecordingTransport, Redactor
from apps.conformance.formats import rows_problems, value_problem
from apps.conformance.samples import malformed_params, sample_params
from apps.udil.catalog_v33 import PARAMETER_READ_COLUMNS
from apps.udil.codec import decode_response, encode_request, parse_status, response_rows
from apps.udil.datasets import CANCELLABLE_STATUS_LEVELS, ON_DEMAND_TYPES, by_on_demand_type
from apps.udil.errors import UdilError
from apps.udil.timefmt import format_datetime, now_pkt

FINAL_LEVEL = 5


@dataclass
class Verdict:
    outcome: str
    summary: str
    notes: list[str] = field(default_factory=list)


def passed(summary: str, *notes: str) -> Verdict:
    return Verdict(CheckOutcome.PASSED, summary, list(notes))


def failed(summary: str, *notes: str) -> Verdict:
    return Verdict(CheckOutcome.FAILED, summary, list(notes))


def not_applicable(summary: str) -> Verdict:
    return Verdict(CheckOutcome.NOT_APPLICABLE, summary)


@dataclass
class Answer:
    """One MDC answer: HTTP status, payload decoded strictly (None if it is not UDIL), and why
    it could not be decoded."""

    http_status: int
    payload: dict[str, Any] | None
    problem: str = ""

    @property
    def status(self) -> int | None:
        try:
            return parse_status(self.payload) if self.payload is not None else None
        except UdilError:
            return None

    @property
    def message(self) -> str:
        message = (self.payload or {}).get("message")
        return message.strip() if isinstance(message, str) else ""

    def describe(self) -> str:
        if self.payload is None:
            return f"HTTP {self.http_status}, {self.problem or 'no UDIL body'}"
        return f"HTTP {self.http_status}, status {self.status}, message {self.message[:120]!r}"


class Suite:
    """The suite for one MDC and the meters picked for it (``meters``: registry Meter rows)."""

    def __init__(self, mdc, meters: list, commands: list[str]) -> None:
        from apps.registry.selectors import mdc_client

        self.mdc = mdc
        self.meters = meters
        self.device_ids = [m.global_device_id for m in meters]
        self.commands = set(commands)
        self.redactor = Redactor([mdc.password, mdc.auth_code])
        self.transport = RecordingTransport(self.redactor)
        self.http = httpx.Client(transport=self.transport, timeout=float(mdc.timeout_seconds))
        self.client = mdc_client(mdc, http=self.http)
        self.profile = self.client.profile
        self.tracked: list[dict[str, Any]] = []  # every transaction_status row seen
        self.event_rows: list[dict[str, Any]] = []
        self.events_read = False
        self._key: str | None = None

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------ plumbing
    def key(self, *, renew: bool = False) -> str:
        if renew or self._key is None:
            self._key = self.client.authorize()
            self.redactor.add(self._key)
        return self._key

    def exchange(
        self,
        service: str,
        params: dict[str, Any] | None = None,
        *,
        tid: str | None = None,
        key: str | None = None,
        validate: bool = True,
    ) -> Answer:
        svc = self.profile.service(service)
        headers, form = encode_request(
            svc,
            params or {},
            transactionid=tid,
            validate=validate,
            credentials_in=self.client.credentials_in,
        )
        if svc.kind != "auth":
            try:
                headers["privatekey"] = key if key is not None else self.key()
            except UdilError as exc:  # no key, no call: the check fails with the reason
                return Answer(0, None, f"authorization_service failed: {exc}")
        accept = "application/json" if self.client.fmt == "json" else "application/xml"
        try:
            resp = self.http.post(
                self.client.url_for(svc.name), headers={"Accept": accept, **headers}, data=form
            )
        except httpx.HTTPError as exc:
            return Answer(0, None, f"{type(exc).__name__}: {exc}")
        try:
            payload = decode_response(
                resp.content, resp.headers.get("content-type"), stringify=False
            )
        except UdilError as exc:
            return Answer(resp.status_code, None, str(exc))
        return Answer(resp.status_code, payload)

    def meters_for(self, svc) -> list:
        """The picked meters a service may name (3.3's single-device reads: the first)."""
        limit = getattr(svc, "max_devices", None)
        return self.meters[:limit] if limit else self.meters

    def tid(self) -> str:
        return f"conf{uuid.uuid4().hex[:24]}"

    def window(self, dataset: str | None = None) -> tuple[str, str]:
        """The read window: CONFORMANCE_READ_WINDOW_HOURS back, or the MDC's registered
        window of the data set where that is longer (a monthly snapshot needs a month)."""
        now = now_pkt()
        minutes = settings.CONFORMANCE_READ_WINDOW_HOURS * 60
        registered = (self.mdc.window_minutes or {}).get(dataset) if dataset else None
        if isinstance(registered, int) and registered > minutes:
            minutes = registered
        return format_datetime(now - dt.timedelta(minutes=minutes)), format_datetime(now)

    def registry(self) -> dict[str, Callable[[cat.CheckDef], Verdict]]:
        return {
            cat.AUTH: self.check_auth,
            cat.READ: self.check_read,
            cat.WRITE: self.check_write,
            cat.ON_DEMAND: self.check_on_demand,
            cat.TRACKING: self.check_tracking,
            cat.CANCEL: self.check_cancel,
            cat.RESEND: self.check_resend,
            cat.MALFORMED: self.check_malformed,
            cat.EVENTS: self.check_events,
        }

    # ------------------------------------------------------------ authorization
    def check_auth(self, check: cat.CheckDef) -> Verdict:
        return getattr(self, "auth_" + check.code.split(".", 1)[1])()

    def auth_wrong_password(self) -> Verdict:
        from apps.registry.selectors import mdc_client

        wrong = f"{self.mdc.password}-not-the-password"
        self.redactor.add(wrong)
        client = mdc_client(self.mdc, http=self.http, password=wrong)
        try:
            client.authorize()
        except UdilError as exc:
            code = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
            if code == 401:
                return passed(f"refused with HTTP 401: {exc}"[:300])
            return failed(f"refused, but not with HTTP 401: {exc}"[:300])
        return failed("a wrong password was given a private key")

    def auth_key_works(self) -> Verdict:
        try:
            key = self.key(renew=True)
        except UdilError as exc:
            return failed(f"authorization_service failed: {exc}"[:300])
        answer = self.exchange("transaction_status", {"transactionid": [self.tid()]}, key=key)
        if answer.http_status == 401 or answer.payload is None:
            return failed(f"the key was not accepted: {answer.describe()}")
        return passed(f"key issued and accepted ({answer.describe()})")

    def auth_bad_key(self) -> Verdict:
        answer = self.exchange(
            "transaction_status", {"transactionid": [self.tid()]}, key="conformance-unknown-key"
        )
        if answer.http_status == 401 and answer.status == 0:
            return passed(f"refused: {answer.describe()}")
        return failed(f"expected HTTP 401 with status 0: {answer.describe()}")

    def auth_renew_on_401(self) -> Verdict:
        first = self.exchange(
            "transaction_status", {"transactionid": [self.tid()]}, key="conformance-expired-key"
        )
        if first.http_status != 401:
            return failed(f"a stale key was not refused with 401: {first.describe()}")
        try:
            key = self.key(renew=True)
        except UdilError as exc:
            return failed(f"renewing the key after a 401 failed: {exc}"[:300])
        retry = self.exchange("transaction_status", {"transactionid": [self.tid()]}, key=key)
        if retry.http_status == 401 or retry.payload is None:
            return failed(f"the renewed key was not accepted: {retry.describe()}")
        return passed(f"401, renewed, retried: {retry.describe()}")

    # ------------------------------------------------------------ reads
    def check_read(self, check: cat.CheckDef) -> Verdict:
        ds = self.profile.dataset(check.target)
        start, end = self.window(ds.code)
        params = {"global_device_id": self.device_ids}
        if ds.time_field is not None:
            params.update(start_datetime=start, end_datetime=end)
        answer = self.exchange(self.profile.read_service(ds.code).name, params)
        if answer.payload is None or answer.http_status != 200 or answer.status != 1:
            return failed(f"the read did not succeed: {answer.describe()}")
        try:
            rows = response_rows(answer.payload)
        except UdilError as exc:
            return failed(f"data is not an array of rows: {exc}")
        if ds.code == "events":
            self.event_rows, self.events_read = rows, True
        if not rows:
            return not_applicable(f"no {ds.table} rows for the picked meters in {start}..{end}")
        problems = rows_problems(ds, rows)
        unknown = {str(r.get("global_device_id", "")).strip() for r in rows} - set(self.device_ids)
        if unknown:
            problems.append(f"rows of devices not asked for: {', '.join(sorted(unknown)[:5])}")
        if problems:
            return failed(f"{len(rows)} rows, not conforming", *problems)
        return passed(f"{len(rows)} rows, {len(ds.fields)} fields each, every value in format")

    # ------------------------------------------------------------ commands
    def send(self, service: str, params: dict[str, Any], tid: str) -> tuple[Answer, list[str]]:
        """Send a command; the problems of its immediate answer (empty: accepted)."""
        answer = self.exchange(service, params, tid=tid)
        problems = []
        if answer.payload is None or answer.http_status != 200 or answer.status != 1:
            problems.append(f"not accepted: {answer.describe()}")
        elif str(answer.payload.get("transactionid", "")).strip() != tid:
            problems.append(
                f"answer's transactionid {answer.payload.get('transactionid')!r} is not {tid!r}"
            )
        return answer, problems

    def failed_status(self, row: dict[str, Any]) -> bool:
        """Did the device fail, by the profile's ``indv_status`` (2019: 0; 3.3: 2, while 0 is
        still in progress)."""
        text = str(row.get("indv_status", "")).strip()
        return text.isdigit() and self.profile.indv_status(int(text)) == 0

    def track(self, tid: str) -> tuple[list[dict[str, Any]], list[str]]:
        """Poll transaction_status until every device is final (level 5, failed or cancelled),
        at the MDC's pace: the pause grows up to a bound and the wait has a deadline."""
        pause = settings.CONFORMANCE_POLL_SECONDS
        deadline = time.monotonic() + settings.CONFORMANCE_COMMAND_WAIT_SECONDS
        seen: dict[str, int] = {}
        problems: list[str] = []
        while True:
            answer = self.exchange("transaction_status", {"transactionid": [tid]})
            if answer.payload is None or answer.http_status != 200 or answer.status != 1:
                return [], [f"transaction_status failed: {answer.describe()}"]
            try:
                rows = response_rows(answer.payload)
            except UdilError as exc:
                return [], [f"transaction_status data is not rows: {exc}"]
            final = bool(rows)
            for row in rows:
                device = str(row.get("global_device_id", "")).strip()
                try:
                    level = int(str(row.get("status_level", "")).strip())
                except ValueError:
                    return rows, [f"{device}: status_level {row.get('status_level')!r}"]
                if not 0 <= level <= FINAL_LEVEL:
                    problems.append(f"{device}: status_level {level} is not 0-5")
                if level < seen.get(device, 0):
                    problems.append(f"{device}: status_level went back from {seen[device]}")
                seen[device] = level
                done = (
                    level == FINAL_LEVEL
                    or self.failed_status(row)
                    or str(row.get("request_cancelled", "")).strip() == "1"
                )
                final = final and done
            if final or problems:
                self.tracked.extend(rows)
                return rows, problems
            if time.monotonic() + pause > deadline:
                return rows, [
                    f"not final within {settings.CONFORMANCE_COMMAND_WAIT_SECONDS} s: "
                    + ", ".join(f"{d} at level {lvl}" for d, lvl in sorted(seen.items()))
                ]
            time.sleep(pause)
            pause = min(pause * 1.5, settings.CONFORMANCE_POLL_MAX_SECONDS)

    def _command(self, service: str, params: dict[str, Any], what: str) -> Verdict:
        tid = self.tid()
        _answer, problems = self.send(service, params, tid)
        if problems:
            return failed(problems[0])
        rows, problems = self.track(tid)
        if problems:
            return failed(f"{what}: tracking failed", *problems)
        if not rows:
            return failed(f"{what}: accepted, but transaction_status has no rows for {tid}")
        outcomes = [
            f"{r.get('global_device_id')}: level {r.get('status_level')}, "
            f"indv_status {r.get('indv_status')}"
            for r in rows
        ]
        return passed(f"{what}: accepted as {tid}, final for {len(rows)} devices", *outcomes)

    def check_write(self, check: cat.CheckDef) -> Verdict:
        if check.target not in self.commands:
            return not_applicable("left out by the administrator for this run")
        svc = self.profile.service(check.target)
        params = sample_params(svc, self.meters_for(svc), now_pkt())
        return self._command(svc.name, params, check.target)

    def check_on_demand(self, check: cat.CheckDef) -> Verdict:
        service, type_code = check.target.split(":", 1)
        svc = self.profile.service(service)
        meters = self.meters_for(svc)
        names = {p.name for p in svc.params}
        parameter_read = type_code not in ON_DEMAND_TYPES
        given: dict[str, Any] = {"type": type_code}
        ds = None if parameter_read else self.profile.dataset(by_on_demand_type(type_code).code)
        if ds is not None and type_code not in ("INST", "VISL") and "start_datetime" in names:
            given["start_datetime"], given["end_datetime"] = self.window(ds.code)
        params = sample_params(svc, meters, now_pkt(), **given)
        if "start_datetime" not in given:
            params.pop("start_datetime", None), params.pop("end_datetime", None)
        tid = self.tid()
        answer, problems = self.send(svc.name, params, tid)
        if problems:
            return failed(problems[0])
        # 3.3: a meter online within the limit answers at once, with the rows in ``data``
        sync = [r for r in self._rows(answer) if isinstance(r, dict) and "indv_status" not in r]
        rows, problems = self.track(tid)
        if problems:
            return failed(f"{svc.name} {type_code}: tracking failed", *problems)
        if not rows:
            return failed(f"{svc.name} {type_code}: accepted, but no transaction_status rows")
        data, problems = list(sync), []
        if not sync:
            for row in rows:
                rd = row.get("response_data")
                try:
                    data += response_rows({"data": rd}) if rd not in (None, "") else []
                except UdilError as exc:
                    problems.append(f"response_data: {exc}")
        if parameter_read:
            problems += self._parameter_problems(type_code, data)
        else:
            problems += rows_problems(ds, data)
        how = "answered at once" if sync else "tracked to final"
        if problems:
            return failed(f"{svc.name} {type_code}: {len(data)} rows, not conforming", *problems)
        return passed(
            f"{svc.name} {type_code}: {how} ({tid}), {len(data)} rows in format",
            *(f"{r.get('global_device_id')}: level {r.get('status_level')}" for r in rows),
        )

    def _rows(self, answer: Answer) -> list:
        try:
            return response_rows(answer.payload) if answer.payload else []
        except UdilError:
            return []

    def _parameter_problems(self, type_code: str, data: list) -> list[str]:
        """A parameter read's rows: the type's meter-visuals columns, each in its format."""
        if not data:
            return [f"no row answered the {type_code} parameter read"]
        visuals = self.profile.dataset("meter_visuals")
        wanted = PARAMETER_READ_COLUMNS.get(type_code, ())
        problems = []
        for i, row in enumerate(data, 1):
            if not isinstance(row, dict):
                problems.append(f"row {i} is not an object")
                continue
            if str(row.get("global_device_id", "")).strip() not in self.device_ids:
                problems.append(f"row {i}: global_device_id {row.get('global_device_id')!r}")
            for name in wanted:
                f = visuals.field(name) if name in visuals.field_names else None
                if name not in row:
                    problems.append(f"row {i}: {name} is missing")
                elif f is not None and (why := value_problem(f, row[name], required=False)):
                    problems.append(f"row {i}: {name} {why}")
        return problems[:20]

    def check_tracking(self, check: cat.CheckDef) -> Verdict:
        if not self.tracked:
            return not_applicable("no command was tracked in this run")
        ds = self.profile.transaction_status
        rows = [{k: v for k, v in r.items() if k != "response_data"} for r in self.tracked]
        problems = rows_problems(ds, rows)
        for i, row in enumerate(rows, 1):
            level = row.get("status_level")
            for n in range(1, FINAL_LEVEL + 1):
                stamp = row.get(f"status_{n}_datetime")
                f = (
                    ds.field(f"status_{n}_datetime")
                    if f"status_{n}_datetime" in ds.field_names
                    else None
                )
                if f is None or not isinstance(level, str) or not level.strip().isdigit():
                    continue
                if n <= int(level) and value_problem(f, stamp, required=True):
                    problems.append(f"row {i}: level {level} but status_{n}_datetime {stamp!r}")
        if problems:
            return failed(f"{len(rows)} transaction_status rows, not conforming", *problems[:10])
        return passed(f"{len(rows)} transaction_status rows, every field in format")

    def check_cancel(self, check: cat.CheckDef) -> Verdict:
        svc = self.profile.service("time_synchronization")
        tid = self.tid()
        _, problems = self.send(svc.name, sample_params(svc, self.meters, now_pkt()), tid)
        if problems:
            return failed(f"the command to cancel was not accepted: {problems[0]}")
        answer = self.exchange(
            "transaction_cancel",
            {"global_device_id": self.device_ids, "request_datetime": now_pkt()},
            tid=tid,
        )
        if answer.payload is None or answer.http_status != 200:
            return failed(f"transaction_cancel: {answer.describe()}")
        accepted = {
            str(r.get("global_device_id", "")).strip(): str(r.get("indv_status", "")).strip()
            for r in response_rows(answer.payload)
        }
        rows, problems = self.track(tid)
        if problems:
            return failed("tracking after the cancel failed", *problems)
        notes = []
        for row in rows:
            device = str(row.get("global_device_id", "")).strip()
            level = int(str(row.get("status_level")).strip())
            cancelled = str(row.get("request_cancelled", "")).strip() == "1"
            if accepted.get(device) == "1" and not cancelled:
                problems.append(f"{device}: cancel answered 1 but request_cancelled is not 1")
            if cancelled and level not in CANCELLABLE_STATUS_LEVELS:
                problems.append(f"{device}: cancelled at status_level {level}")
            if (
                accepted.get(device) == "0"
                and level in CANCELLABLE_STATUS_LEVELS
                and not self.failed_status(row)
            ):
                problems.append(f"{device}: cancel refused at status_level {level}")
            notes.append(
                f"{device}: cancel indv_status {accepted.get(device)!r}, level {level}, "
                f"request_cancelled {int(cancelled)}"
            )
        if accepted and "0" in accepted.values() and not answer.message:
            problems.append("a refused cancel came without a message")
        if problems:
            return failed("cancel rules broken", *problems, *notes)
        return passed(f"cancel answered per device, consistent with the levels ({tid})", *notes)

    def check_resend(self, check: cat.CheckDef) -> Verdict:
        svc = self.profile.service("time_synchronization")
        params = sample_params(svc, self.meters, now_pkt())
        tid = self.tid()
        _first, problems = self.send(svc.name, params, tid)
        if problems:
            return failed(problems[0])
        again = self.exchange(svc.name, params, tid=tid)
        if again.payload is None or again.http_status >= 500:
            return failed(f"the resend was not answered: {again.describe()}")
        rows, problems = self.track(tid)
        if problems:
            return failed("tracking the resent transaction failed", *problems)
        per_device: dict[str, int] = {}
        for row in rows:
            device = str(row.get("global_device_id", "")).strip()
            per_device[device] = per_device.get(device, 0) + 1
        twice = [d for d, n in per_device.items() if n > 1]
        if twice or set(per_device) != set(self.device_ids):
            return failed(
                f"transaction {tid} after a resend: {per_device}", f"resend: {again.describe()}"
            )
        return passed(f"resend answered ({again.describe()}); one row per device", str(per_device))

    # ------------------------------------------------------------ malformed requests
    def check_malformed(self, check: cat.CheckDef) -> Verdict:
        svc = self.profile.service(check.target)
        params, broken = malformed_params(svc, self.meters_for(svc), now_pkt())
        tid = self.tid() if svc.needs_transactionid else None
        answer = self.exchange(svc.name, params, tid=tid, validate=False)
        if answer.http_status == 400 and answer.status == 0 and answer.message:
            return passed(f"{broken}: {answer.describe()}")
        return failed(f"{broken}: expected HTTP 400, status 0 and a message; {answer.describe()}")

    # ------------------------------------------------------------ events
    def check_events(self, check: cat.CheckDef) -> Verdict:
        if not self.events_read:  # a resumed run: read.events ran in the lost attempt
            self.check_read(cat.CheckDef("read.events", cat.READ, "", "events"))
        if not self.events_read:
            return failed("the events read API did not answer with rows (see read.events)")
        codes = [str(r.get("event_code", "")).strip() for r in self.event_rows]
        if not codes:
            return not_applicable("no events for the picked meters in the window")
        known = cat.event_codes(self.profile)
        unknown = sorted({c for c in codes if not c.isdigit() or int(c) not in known})
        if unknown:
            return failed(f"unknown event codes: {', '.join(unknown[:20])}")
        return passed(f"{len(codes)} events, codes {', '.join(sorted(set(codes)))}: all known")
