"""Writing the warehouse.

Loading is system work (ingestion, on-demand replies): it is not audited row by row; what users
do to the quarantine is. Every function is keyword-only and runs in ``transaction.atomic``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from apps.audit.services import audit_record
from apps.registry.models import Mdc
from apps.udil.codec import decode_response, parse_status, response_rows
from apps.udil.datasets import DataSet
from apps.udil.errors import UdilError, UdilStatusError
from apps.udil.profiles import get_profile
from apps.warehouse import partitions
from apps.warehouse.choices import QuarantineKind
from apps.warehouse.guard import RowGuard, owned_device_ids
from apps.warehouse.loader import TextRow, merge_text_rows
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.schema import PARTITIONED_TABLES, VARIANTS, WarehouseTable, quote, table_for

#: Bodies longer than this are kept cut (with a note): quarantine must not fill the disk.
QUARANTINE_BODY_MAX_CHARS = 2_000_000
QUARANTINE_BATCH_SIZE = 2_000


@dataclass(frozen=True)
class LoadResult:
    """What a load did. ``unchanged``: accepted rows that changed nothing (already stored and
    identical, an older copy than the stored one, or a duplicate superseded in the batch)."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            received=self.received + other.received,
            inserted=self.inserted + other.inserted,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
            quarantined=self.quarantined + other.quarantined,
        )


def _dataset(
    dataset_code: str, dataset: DataSet | None = None, rows: Sequence[TextRow] = ()
) -> tuple[DataSet, WarehouseTable]:
    """The definition rows are in and the table's view for it: ``dataset`` when given, else
    the definition whose width the rows have, else the first (2019) definition."""
    table = table_for(dataset_code)
    if dataset is not None:
        view = table.view(dataset)
    elif rows:
        view = table.view_of_width(len(rows[0]))
    else:
        view = table.view(VARIANTS[dataset_code][0])
    return view.dataset, view


def _mdc_dataset(mdc_id: int, dataset_code: str) -> DataSet:
    """The definition of a data set in the UDIL profile the MDC speaks."""
    profile = Mdc.objects.filter(pk=mdc_id).values_list("udil_profile", flat=True).first()
    try:
        return get_profile(profile).dataset(dataset_code)
    except UdilError:
        return VARIANTS[dataset_code][0]


def _months_touched(table: WarehouseTable, rows: Sequence[TextRow]) -> set[str]:
    if not table.partitioned:
        return set()
    index = table.data_columns.index(table.time_column)
    return {row[index][:7] for row in rows if row[index]}


def _time_range(month_texts: set[str]) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The batch's months, a day wider on each side (rows whose text carries another offset)."""
    months = [partitions.Month.parse(text) for text in month_texts if text[:4].isdigit()]
    if not months or len(months) != len(month_texts):
        return None
    day = datetime.timedelta(days=1)
    return min(months).start - day, max(months).end + day


def _load(
    *,
    table: WarehouseTable,
    mdc_id: int,
    good: Sequence[TextRow],
    rejects: Sequence[tuple[Any, str]],
    source: str,
) -> LoadResult:
    months = _months_touched(table, good)
    partitions.partitions_for_load(table, months)
    with transaction.atomic():
        inserted, updated = merge_text_rows(
            table, mdc_id=mdc_id, rows=good, time_range=_time_range(months)
        )
        quarantined = rows_quarantine(
            mdc_id=mdc_id, dataset_code=table.code, rejects=rejects, source=source
        )
    return LoadResult(
        received=len(good) + len(rejects),
        inserted=inserted,
        updated=updated,
        unchanged=len(good) - inserted - updated,
        quarantined=quarantined,
    )


def rows_load(
    *,
    dataset_code: str,
    mdc_id: int,
    raw_rows: Iterable[dict[str, Any]],
    source: str,
    guard: RowGuard | None = None,
    dataset: DataSet | None = None,
) -> LoadResult:
    """Validate and store rows as the wire delivered them (dicts of strings), read with
    ``dataset`` (the MDC's profile's definition; default the 2019 one).

    Good rows are merged (new keys inserted, newer differing copies replace stored ones); bad
    rows go to the quarantine with the reason, and so do rows ``guard`` refuses (of a meter not
    registered at the MDC, outside the requested span). One transaction; loading the same rows
    again changes nothing.
    """
    dataset, table = _dataset(dataset_code, dataset)
    good, rejects = dataset.copy_rows(raw_rows)
    if guard is not None:
        good, refused = guard.split(good)
        rejects = [*rejects, *refused]
    return _load(table=table, mdc_id=mdc_id, good=good, rejects=rejects, source=source)


def rows_load_split(
    *,
    dataset_code: str,
    mdc_id: int,
    good: Sequence[TextRow],
    rejects: Sequence[tuple[Any, str]],
    source: str,
    dataset: DataSet | None = None,
) -> LoadResult:
    """:func:`rows_load` of rows a caller already split with ``DataSet.copy_rows`` (so that
    validation can run in another thread while this one loads): good rows are merged, rejects
    quarantined, in one transaction. The rows are in the field order of ``dataset`` (default:
    the definition of the data set their width is, 2019 or 3.3)."""
    _, table = _dataset(dataset_code, dataset, good)
    return _load(table=table, mdc_id=mdc_id, good=good, rejects=rejects, source=source)


def rows_load_text(
    *,
    dataset_code: str,
    mdc_id: int,
    text_rows: Sequence[TextRow],
    source: str,
    dataset: DataSet | None = None,
) -> LoadResult:
    """Store rows a caller already converted with ``DataSet.text_row`` (COPY text in
    ``fields`` order, None or "" for NULL)."""
    _, table = _dataset(dataset_code, dataset, text_rows)
    return _load(table=table, mdc_id=mdc_id, good=text_rows, rejects=(), source=source)


def _jsonable(raw: Any) -> Any:
    try:
        json.dumps(raw, default=str)
    except (TypeError, ValueError):
        return {"repr": repr(raw)[:QUARANTINE_BODY_MAX_CHARS]}
    return json.loads(json.dumps(raw, default=str))


def _fingerprint(*, mdc_id: int | None, dataset_code: str, kind: str, reason: str, content: str):
    text = json.dumps([mdc_id, dataset_code, kind, reason, content], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()


def _seen_again(entries: dict[int, int], *, source: str) -> None:
    """Add ``{entry id: times}`` to open entries' counts (one UPDATE)."""
    if not entries:
        return
    QuarantinedRow.objects.filter(pk__in=list(entries)).update(
        count=F("count")
        + Case(*(When(pk=pk, then=Value(n)) for pk, n in entries.items()), default=Value(0)),
        last_seen_at=timezone.now(),
        source=source[:200],
    )


def rows_quarantine(
    *,
    mdc_id: int | None,
    dataset_code: str,
    rejects: Iterable[tuple[Any, str]],
    source: str,
) -> int:
    """Keep refused rows (``(raw_row, reason)`` pairs from ``split_rows``); returns how many.

    A row already in the quarantine (open, same MDC, data set, reason and content) is not kept
    twice: its entry's count goes up and ``last_seen_at`` moves, so a bad row re-read by every
    pull stays one entry."""
    fresh: dict[str, list] = {}  # fingerprint -> [raw, reason, times]
    total = 0
    for raw, reason in rejects:
        total += 1
        payload = _jsonable(raw)
        content = json.dumps(payload, sort_keys=True, default=str)
        key = _fingerprint(
            mdc_id=mdc_id, dataset_code=dataset_code, kind="row", reason=reason, content=content
        )
        if key in fresh:
            fresh[key][2] += 1
        else:
            fresh[key] = [payload, reason, 1]
    if not fresh:
        return 0
    now = timezone.now()
    with transaction.atomic():
        known = dict(
            QuarantinedRow.objects.filter(fingerprint__in=list(fresh), resolved=False)
            .order_by("id")
            .values_list("fingerprint", "id")
        )
        _seen_again({known[key]: fresh[key][2] for key in known}, source=source)
        QuarantinedRow.objects.bulk_create(
            [
                QuarantinedRow(
                    mdc_id=mdc_id,
                    dataset_code=dataset_code,
                    kind=QuarantineKind.ROW,
                    reason=reason,
                    raw_payload=payload,
                    source=source[:200],
                    fingerprint=key,
                    count=times,
                    last_seen_at=now,
                )
                for key, (payload, reason, times) in fresh.items()
                if key not in known
            ],
            batch_size=QUARANTINE_BATCH_SIZE,
        )
    return total


def payload_quarantine(
    *,
    mdc_id: int | None,
    dataset_code: str,
    body: bytes | str,
    reason: str,
    source: str,
    window_start: datetime.datetime | None = None,
    window_end: datetime.datetime | None = None,
    device_ids: Sequence[str] = (),
) -> QuarantinedRow:
    """Keep a whole response body that could not be used (invalid JSON/XML, wrong shape), with
    the request it answered (span and devices) so it can be re-processed with the same checks.
    The same body for the same request again is the same entry, counted."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if len(text) > QUARANTINE_BODY_MAX_CHARS:
        reason = f"{reason} (body cut from {len(text)} characters)"
        text = text[:QUARANTINE_BODY_MAX_CHARS]
    text = text.replace("\x00", "\ufffd")
    request = json.dumps([str(window_start), str(window_end), list(device_ids)])
    key = _fingerprint(
        mdc_id=mdc_id, dataset_code=dataset_code, kind="body", reason=reason, content=request + text
    )
    with transaction.atomic():
        entry = (
            QuarantinedRow.objects.select_for_update()
            .filter(fingerprint=key, resolved=False)
            .order_by("id")
            .first()
        )
        if entry is not None:
            _seen_again({entry.pk: 1}, source=source)
            entry.refresh_from_db()
            return entry
        return QuarantinedRow.objects.create(
            mdc_id=mdc_id,
            dataset_code=dataset_code,
            kind=QuarantineKind.BODY,
            reason=reason,
            raw_text=text,
            source=source[:200],
            fingerprint=key,
            last_seen_at=timezone.now(),
            window_start=window_start,
            window_end=window_end,
            device_ids=list(device_ids),
        )


def quarantined_row_resolve(
    *, quarantined_row: QuarantinedRow, actor, note: str = ""
) -> QuarantinedRow:
    """Mark a quarantined row or body as dealt with (audited)."""
    with transaction.atomic():
        quarantined_row.resolved = True
        quarantined_row.resolved_at = timezone.now()
        quarantined_row.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
        quarantined_row.resolution_note = note[:500]
        quarantined_row.save(
            update_fields=["resolved", "resolved_at", "resolved_by", "resolution_note"]
        )
        audit_record(
            actor=actor,
            action="warehouse.quarantine_resolve",
            target=quarantined_row,
            summary=f"Resolved quarantined {quarantined_row.dataset_code} "
            f"{quarantined_row.kind} #{quarantined_row.pk}",
            detail={"note": note[:500]},
        )
    return quarantined_row


class QuarantineReprocessRefused(ValueError):
    """The entry cannot be re-processed (already resolved, or no MDC to load it for)."""


def _body_rows(entry: QuarantinedRow) -> list[dict[str, Any]]:
    """The rows of a quarantined body, decoded as the pull would (raises UdilError)."""
    payload = decode_response(entry.raw_text.encode("utf-8"), None, stringify=False)
    if parse_status(payload) != 1:
        message = payload.get("message")
        raise UdilStatusError(200, message if isinstance(message, str) else "", payload)
    return response_rows(payload)


def quarantine_reprocess(*, quarantined_row: QuarantinedRow, actor) -> LoadResult:
    """Try a quarantined row or body again once its cause is fixed (a codec or registry fix).

    The rows go through the same checks as at ingestion (valid, of a meter registered at the
    MDC, and for a body inside the requested span with the tolerance), then are merged. When
    the entry loads it is resolved; rows still refused are quarantined (counted, not doubled);
    a body that still cannot be read stays open with the new reason. Audited either way."""
    entry = quarantined_row
    if entry.resolved:
        raise QuarantineReprocessRefused("this entry is already resolved")
    if entry.mdc_id is None:
        raise QuarantineReprocessRefused("only an entry with an MDC can be loaded again")
    dataset, table = _dataset(entry.dataset_code, _mdc_dataset(entry.mdc_id, entry.dataset_code))
    with transaction.atomic():
        try:
            is_row = entry.kind == QuarantineKind.ROW
            raw_rows = [entry.raw_payload] if is_row else _body_rows(entry)
        except UdilError as exc:
            entry.reason = f"still unreadable: {exc}"[:4000]
            entry.save(update_fields=["reason"])
            audit_record(
                actor=actor,
                action="warehouse.quarantine_reprocess",
                target=entry,
                summary=f"Quarantined {entry.kind} #{entry.pk} still cannot be read",
                detail={"reason": entry.reason},
            )
            return LoadResult(received=1, quarantined=1)
        good, rejects = dataset.copy_rows(raw_rows)
        guard = _guard_of(entry, dataset, good)
        good, refused = guard.split(good)
        rejects = [*rejects, *refused]
        if entry.kind == QuarantineKind.ROW and rejects:
            entry.reason = rejects[0][1]
            entry.save(update_fields=["reason"])
            audit_record(
                actor=actor,
                action="warehouse.quarantine_reprocess",
                target=entry,
                summary=f"Quarantined row #{entry.pk} refused again",
                detail={"reason": entry.reason},
            )
            return LoadResult(received=1, quarantined=1)
        result = _load(
            table=table,
            mdc_id=entry.mdc_id,
            good=good,
            rejects=rejects,
            source=f"re-processed quarantine #{entry.pk}",
        )
        note = (
            f"re-processed: {result.inserted} inserted, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.quarantined} refused"
        )
        quarantined_row_resolve(quarantined_row=entry, actor=actor, note=note)
        audit_record(
            actor=actor,
            action="warehouse.quarantine_reprocess",
            target=entry,
            summary=f"Quarantined {entry.kind} #{entry.pk} re-processed",
            detail={
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "refused": result.quarantined,
            },
        )
    return result


def _guard_of(entry: QuarantinedRow, dataset: DataSet, good) -> RowGuard:
    devices = {row[dataset.field_names.index("global_device_id")] for row in good}
    owned = owned_device_ids(mdc_id=entry.mdc_id, device_ids=devices)
    if entry.window_start is None or entry.window_end is None:
        return RowGuard(entry.dataset_code, owned)
    tolerance = datetime.timedelta(minutes=settings.INGESTION_WINDOW_TOLERANCE_MINUTES)
    return RowGuard(
        entry.dataset_code, owned, entry.window_start - tolerance, entry.window_end + tolerance
    )


def quarantined_row_reload(*, quarantined_row: QuarantinedRow, actor) -> LoadResult:
    """:func:`quarantine_reprocess` (its former name)."""
    return quarantine_reprocess(quarantined_row=quarantined_row, actor=actor)


def partitions_ensure(*, start: datetime.date, months_ahead: int) -> list[str]:
    """Create the monthly partitions of every data set table from ``start``'s month to
    ``months_ahead`` months later (idempotent); returns the partitions created."""
    first = partitions.Month.of(start)
    months = partitions.months_between(first, first.plus(months_ahead))
    return partitions.partitions_create(PARTITIONED_TABLES, months)


def default_partitions_drain(*, today: datetime.date) -> dict[str, int]:
    """Move rows out of the DEFAULT partitions into monthly partitions (created as needed) for
    months inside the auto-create window; returns rows left in each DEFAULT partition."""
    first, last = partitions.auto_create_window(today)
    left = {}
    for table in PARTITIONED_TABLES:
        months = [m for m in partitions.default_partition_months(table) if first <= m <= last]
        partitions.partitions_create([table], months)
        left[table.name] = partitions.default_partition_row_count(table)
    return left


def rows_stored_count(
    *, dataset_code: str, mdc_id: int, device_ids: Sequence[str], first: str, last: str
) -> int:
    """Rows of an MDC stored for ``device_ids`` with a time in ``[first, last]`` (COPY text of
    datetimes): one index range count, to confirm that an answer known to be loaded still is."""
    table = table_for(dataset_code)
    time = quote(table.time_column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {quote(table.name)} WHERE global_device_id = ANY(%s) "
            f"AND {time} >= %s::timestamptz AND {time} <= %s::timestamptz AND mdc_id = %s",
            [list(device_ids), first, last, mdc_id],
        )
        return cursor.fetchone()[0]
