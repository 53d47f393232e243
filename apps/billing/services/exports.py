"""Exports of a locked run: CSV and a fixed-width flat file, formatted by PostgreSQL and
streamed with COPY (memory flat in the number of consumers), one row per consumer ordered by
reference number, so the same run always gives the same bytes; each export is SHA-256
checksummed and recorded (who, when, which run). Approval writes both into
``settings.BILLING_DROP_DIR`` (with a ``.sha256`` file each) when it is set.

Values: numbers as PostgreSQL prints ``numeric(18,3)`` (``1234.500``), times in Pakistan time
with the offset, ``YYYY-MM-DD HH:MM:SS+05:00`` (CSV; dates ``YYYYMMDD`` in the fixed-width
file), discrepancy codes joined by ``|``;
an unknown value is empty (CSV) or blanks (fixed-width).

Fixed-width layout (one record per line, ``\\n`` ends each line, no header; positions count
from 1; ``L`` left-aligned and blank-padded, ``R`` right-aligned)::

    field                  start  width align
    reference_no               1     20  L
    batch                     21      4  L
    global_device_id          25     16  L
    msn                       41     12  R
    multiplying_factor        53     10  R
    previous_date             63      8  L   YYYYMMDD
    present_date              71      8  L   YYYYMMDD
    previous_off_peak         79     16  R   kWh register
    present_off_peak          95     16  R
    previous_peak            111     16  R
    present_peak             127     16  R
    previous_total           143     16  R
    present_total            159     16  R
    units_off_peak           175     14  R   kWh x multiplying factor
    units_peak               189     14  R
    units_total              203     14  R
    units_export             217     14  R
    units_kvarh              231     14  R
    power_factor             245      6  R
    mdi_off_peak             251     10  R   kW
    mdi_peak                 261     10  R
    mdi_total                271     10  R
    days                     281      3  R
    reading_mode             284      1  L   A automatic, M manual, E estimated, N none
    vee_flag                 285      1  L   A actual, E estimated, D edited, N none
    discrepancies            286    100  L   codes joined by |
    (record length 385)
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import connection, transaction

from apps.audit.services import audit_record
from apps.billing.choices import ExportFormat
from apps.billing.models import BillingRun, Determinant, RunExport
from apps.billing.services import BillingRefused

_PKT = "Asia/Karachi"


def _time(col: str) -> str:
    return f"to_char({col} AT TIME ZONE '{_PKT}', 'YYYY-MM-DD HH24:MI:SS') || '+05:00'"


def _day(col: str) -> str:
    return f"to_char({col} AT TIME ZONE '{_PKT}', 'YYYYMMDD')"


#: CSV columns: header and SQL text expression.
CSV_COLUMNS = [
    ("reference_no", "reference_no"),
    ("batch", "batch"),
    ("global_device_id", "global_device_id"),
    ("msn", "msn::text"),
    ("old_global_device_id", "old_global_device_id"),
    ("tariff", "tariff_code"),
    ("multiplying_factor", "multiplying_factor::text"),
    ("previous_datetime", _time("previous_datetime")),
    ("present_datetime", _time("present_datetime")),
    *[
        (f"{when}_{band}", f"{when}_{band}::text")
        for band in ("off_peak", "peak", "total", "export", "kvarh")
        for when in ("previous", "present")
    ],
    *[
        (f"units_{band}", f"units_{band}::text")
        for band in ("off_peak", "peak", "total", "export", "kvarh")
    ],
    ("power_factor", "power_factor::text"),
    ("mdi_off_peak", "mdi_off_peak::text"),
    ("mdi_peak", "mdi_peak::text"),
    ("mdi_total", "mdi_total::text"),
    ("mdi_reset_datetime", _time("mdi_reset_datetime")),
    ("sanctioned_load_kw", "sanctioned_load_kw::text"),
    ("days", "days::text"),
    ("reading_mode", "reading_mode"),
    ("vee_flag", "vee_flag"),
    ("discrepancies", "array_to_string(discrepancies, '|')"),
]

_MODE = "CASE reading_mode WHEN 'automatic' THEN 'A' WHEN 'manual' THEN 'M' " \
    "WHEN 'estimated' THEN 'E' ELSE 'N' END"  # fmt: skip
_FLAG = "CASE vee_flag WHEN 'actual' THEN 'A' WHEN 'estimated' THEN 'E' " \
    "WHEN 'edited' THEN 'D' ELSE 'N' END"  # fmt: skip

#: Fixed-width fields: (name, width, align, SQL text expression); the docstring is the layout.
FIXED_FIELDS = [
    ("reference_no", 20, "L", "reference_no"),
    ("batch", 4, "L", "batch"),
    ("global_device_id", 16, "L", "global_device_id"),
    ("msn", 12, "R", "msn::text"),
    ("multiplying_factor", 10, "R", "multiplying_factor::text"),
    ("previous_date", 8, "L", _day("previous_datetime")),
    ("present_date", 8, "L", _day("present_datetime")),
    *[
        (f"{when}_{band}", 16, "R", f"{when}_{band}::text")
        for band in ("off_peak", "peak", "total")
        for when in ("previous", "present")
    ],
    *[
        (f"units_{band}", 14, "R", f"units_{band}::text")
        for band in ("off_peak", "peak", "total", "export", "kvarh")
    ],
    ("power_factor", 6, "R", "power_factor::text"),
    ("mdi_off_peak", 10, "R", "mdi_off_peak::text"),
    ("mdi_peak", 10, "R", "mdi_peak::text"),
    ("mdi_total", 10, "R", "mdi_total::text"),
    ("days", 3, "R", "days::text"),
    ("reading_mode", 1, "L", _MODE),
    ("vee_flag", 1, "L", _FLAG),
    ("discrepancies", 100, "L", "array_to_string(discrepancies, '|')"),
]
FIXED_RECORD_LENGTH = sum(width for _, width, _, _ in FIXED_FIELDS)


def _select(export_format: str) -> str:
    if export_format == ExportFormat.CSV:
        # NULLIF: an empty text is written as an unknown value is (nothing), never as ""
        columns = ", ".join(f"NULLIF({expr}, '') AS \"{name}\"" for name, expr in CSV_COLUMNS)
    else:
        # a value wider than its field would be cut by rpad/lpad: widths hold numeric(18,3)
        pads = [
            f"{'rpad' if align == 'L' else 'lpad'}(COALESCE({expr}, ''), {width})"
            for _, width, align, expr in FIXED_FIELDS
        ]
        columns = " || ".join(pads) + " AS line"
    return (
        f"SELECT {columns} FROM {Determinant._meta.db_table} "
        "WHERE run_id = %s ORDER BY reference_no, id"
    )


def _fixed_widths_check(run: BillingRun) -> None:
    """rpad/lpad would cut a value wider than its field: refuse the export instead, naming it."""
    lengths = ", ".join(f"max(length({expr}))" for _, _, _, expr in FIXED_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {lengths} FROM {Determinant._meta.db_table} WHERE run_id = %s", [run.pk]
        )
        found = cursor.fetchone()
    for (name, width, _, _), longest in zip(FIXED_FIELDS, found, strict=True):
        if longest is not None and longest > width:
            raise BillingRefused(
                f"{run}: a {name} of {longest} characters does not fit the fixed-width "
                f"layout's {width}; export it as CSV or JSON."
            )


def export_write(*, run: BillingRun, export_format: str, out: BinaryIO) -> tuple[str, int, int]:
    """Stream one export of ``run`` into ``out``: (sha256, bytes, rows)."""
    if not run.locked:
        raise BillingRefused(f"{run} is not approved: only locked runs are exported.")
    if export_format not in (ExportFormat.CSV, ExportFormat.FIXED):
        raise BillingRefused(f"Unknown export format {export_format!r}: use csv or fixed.")
    if export_format == ExportFormat.FIXED:
        _fixed_widths_check(run)
    digest, size = hashlib.sha256(), 0
    # text format would escape a backslash; fixed-width lines carry none (codes and numbers)
    options = "FORMAT csv, HEADER true" if export_format == ExportFormat.CSV else "FORMAT text"
    sql = f"COPY ({_select(export_format)}) TO STDOUT WITH ({options})"
    buffer = bytearray()  # COPY hands over about a row at a time: write in 1 MB blocks

    def flush() -> None:
        nonlocal size
        data = bytes(buffer)
        digest.update(data)
        out.write(data)
        size += len(data)
        buffer.clear()

    with connection.cursor() as cursor, cursor.copy(sql, [run.pk]) as copy:
        for chunk in copy:
            buffer += chunk
            if len(buffer) >= 1 << 20:
                flush()
    flush()
    rows = run.determinants.count()
    return digest.hexdigest(), size, rows


def export_record(
    *, run: BillingRun, export_format: str, actor, sha256: str, size: int, rows: int, path=""
) -> RunExport:
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        record = RunExport.objects.create(
            run=run,
            export_format=export_format,
            sha256=sha256,
            size_bytes=size,
            rows=rows,
            path=str(path),
            actor=user,
            actor_name=user.get_username() if user else "system",
        )
        audit_record(
            actor=actor,
            action="billing.run_export",
            target=run,
            summary=f"{record}: {rows} rows, sha256 {sha256[:12]}",
            detail={"format": export_format, "sha256": sha256, "rows": rows, "path": str(path)},
        )
    return record


def run_export(*, run: BillingRun, export_format: str, actor) -> tuple[Path, RunExport]:
    """Write one export to a temporary file (the caller streams and removes it) and record it."""
    # delete=False: the response streams the file after this returns (the view removes it)
    handle = tempfile.NamedTemporaryFile(prefix=f"billing-run-{run.pk}-", delete=False)  # noqa: SIM115
    try:
        with handle:
            sha256, size, rows = export_write(run=run, export_format=export_format, out=handle)
    except BaseException:
        os.unlink(handle.name)
        raise
    record = export_record(
        run=run, export_format=export_format, actor=actor, sha256=sha256, size=size, rows=rows
    )
    return Path(handle.name), record


def drop_file_name(run: BillingRun, export_format: str) -> str:
    suffix = "csv" if export_format == ExportFormat.CSV else "txt"
    cycle = run.cycle
    return f"billing-run-{run.pk}-batch-{cycle.batch}-{cycle.reading_date:%Y%m%d}.{suffix}"


def run_drop_write(*, run: BillingRun, actor) -> list[RunExport]:
    """Both files of an approved run into the drop directory: written under a temporary name
    and renamed, so a billing system picking files up never reads half a file."""
    if not settings.BILLING_DROP_DIR:
        return []
    directory = Path(settings.BILLING_DROP_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    records = []
    for export_format in (ExportFormat.CSV, ExportFormat.FIXED):
        target = directory / drop_file_name(run, export_format)
        partial = target.with_name(f".{target.name}.partial")
        with partial.open("wb") as out:
            sha256, size, rows = export_write(run=run, export_format=export_format, out=out)
        partial.replace(target)
        target.with_name(f"{target.name}.sha256").write_text(f"{sha256}  {target.name}\n")
        records.append(
            export_record(
                run=run,
                export_format=export_format,
                actor=actor,
                sha256=sha256,
                size=size,
                rows=rows,
                path=target,
            )
        )
    return records
