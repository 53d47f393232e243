"""Writing the warehouse.

Loading is system work (ingestion, on-demand replies): it is not audited row by row; what users
do to the quarantine is. Every function is keyword-only and runs in ``transaction.atomic``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.udil.datasets import DATASETS, DataSet
from apps.warehouse import partitions
from apps.warehouse.choices import QuarantineKind
from apps.warehouse.loader import TextRow, merge_text_rows
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.schema import PARTITIONED_TABLES, WarehouseTable, table_for

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


def _dataset(dataset_code: str) -> tuple[DataSet, WarehouseTable]:
    table = table_for(dataset_code)
    return DATASETS[dataset_code], table


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
    *, dataset_code: str, mdc_id: int, raw_rows: Iterable[dict[str, Any]], source: str
) -> LoadResult:
    """Validate and store rows as the wire delivered them (dicts of strings).

    Good rows are merged (new keys inserted, newer differing copies replace stored ones); bad
    rows go to the quarantine with the reason. One transaction; loading the same rows again
    changes nothing.
    """
    dataset, table = _dataset(dataset_code)
    good, rejects = dataset.copy_rows(raw_rows)
    return _load(table=table, mdc_id=mdc_id, good=good, rejects=rejects, source=source)


def rows_load_split(
    *,
    dataset_code: str,
    mdc_id: int,
    good: Sequence[TextRow],
    rejects: Sequence[tuple[Any, str]],
    source: str,
) -> LoadResult:
    """:func:`rows_load` of rows a caller already split with ``DataSet.copy_rows`` (so that
    validation can run in another thread while this one loads): good rows are merged, rejects
    quarantined, in one transaction."""
    _, table = _dataset(dataset_code)
    return _load(table=table, mdc_id=mdc_id, good=good, rejects=rejects, source=source)


def rows_load_text(
    *, dataset_code: str, mdc_id: int, text_rows: Sequence[TextRow], source: str
) -> LoadResult:
    """Store rows a caller already converted with ``DataSet.text_row`` (COPY text in
    ``fields`` order, None or "" for NULL)."""
    _, table = _dataset(dataset_code)
    return _load(table=table, mdc_id=mdc_id, good=text_rows, rejects=(), source=source)


def rows_load_stream(
    *,
    dataset_code: str,
    mdc_id: int,
    raw_batches: Iterable[Iterable[dict[str, Any]]],
    source: str,
) -> LoadResult:
    """Store a stream of batches, one transaction each, so memory stays bounded by one batch.

    Wrap the call in ``transaction.atomic`` to make the whole stream one transaction.
    """
    total = LoadResult()
    for raw_rows in raw_batches:
        total += rows_load(
            dataset_code=dataset_code, mdc_id=mdc_id, raw_rows=raw_rows, source=source
        )
    return total


def _jsonable(raw: Any) -> Any:
    try:
        json.dumps(raw, default=str)
    except (TypeError, ValueError):
        return {"repr": repr(raw)[:QUARANTINE_BODY_MAX_CHARS]}
    return json.loads(json.dumps(raw, default=str))


def rows_quarantine(
    *,
    mdc_id: int | None,
    dataset_code: str,
    rejects: Iterable[tuple[Any, str]],
    source: str,
) -> int:
    """Keep refused rows (``(raw_row, reason)`` pairs from ``split_rows``); returns how many."""
    entries = [
        QuarantinedRow(
            mdc_id=mdc_id,
            dataset_code=dataset_code,
            kind=QuarantineKind.ROW,
            reason=reason,
            raw_payload=_jsonable(raw),
            source=source[:200],
        )
        for raw, reason in rejects
    ]
    if entries:
        with transaction.atomic():
            QuarantinedRow.objects.bulk_create(entries, batch_size=QUARANTINE_BATCH_SIZE)
    return len(entries)


def payload_quarantine(
    *, mdc_id: int | None, dataset_code: str, body: bytes | str, reason: str, source: str
) -> QuarantinedRow:
    """Keep a whole response body that could not be used (invalid JSON/XML, wrong shape)."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if len(text) > QUARANTINE_BODY_MAX_CHARS:
        reason = f"{reason} (body cut from {len(text)} characters)"
        text = text[:QUARANTINE_BODY_MAX_CHARS]
    with transaction.atomic():
        return QuarantinedRow.objects.create(
            mdc_id=mdc_id,
            dataset_code=dataset_code,
            kind=QuarantineKind.BODY,
            reason=reason,
            raw_text=text.replace("\x00", "\ufffd"),
            source=source[:200],
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


def quarantined_row_reload(*, quarantined_row: QuarantinedRow, actor) -> LoadResult:
    """Try a quarantined row again (after a protocol fix, say). When it loads, the entry is
    resolved; when it is refused again, the entry stays open with the new reason (audited)."""
    if quarantined_row.kind != QuarantineKind.ROW or quarantined_row.mdc_id is None:
        raise ValueError("only a quarantined row with an MDC can be loaded again")
    dataset, table = _dataset(quarantined_row.dataset_code)
    with transaction.atomic():
        good, rejects = dataset.split_rows([quarantined_row.raw_payload])
        if good:
            months = _months_touched(table, good)
            partitions.partitions_for_load(table, months)
            inserted, updated = merge_text_rows(
                table, mdc_id=quarantined_row.mdc_id, rows=good, time_range=_time_range(months)
            )
            result = LoadResult(
                received=1, inserted=inserted, updated=updated, unchanged=1 - inserted - updated
            )
            quarantined_row_resolve(
                quarantined_row=quarantined_row, actor=actor, note="loaded again"
            )
        else:
            quarantined_row.reason = rejects[0][1]
            quarantined_row.save(update_fields=["reason"])
            result = LoadResult(received=1, quarantined=1)
            audit_record(
                actor=actor,
                action="warehouse.quarantine_reload",
                target=quarantined_row,
                summary=f"Quarantined row #{quarantined_row.pk} refused again",
                detail={"reason": rejects[0][1]},
            )
    return result


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
