"""The CSV import of meters."""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.registry import field_lists, validation
from apps.registry.choices import (
    ActivationStatus,
    CommunicationMode,
    CommunicationType,
    DeviceType,
    MeterType,
    Phase,
    ProfileHint,
)
from apps.registry.device_ids import device_id_problem, device_ids_next
from apps.registry.models import (
    Consumer,
    Mdc,
    Meter,
    Transformer,
)
from apps.registry.services.meters import (
    meters_device_creation_send,
)


@dataclass
class ImportReport:
    created: int = 0
    rows_total: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    #: the meters created, for what follows an import (device_creation at their MDCs)
    created_ids: list[int] = field(default_factory=list)
    #: device_creation command requests sent for them, or why none could be sent
    device_creation_requests: list[int] = field(default_factory=list)
    device_creation_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


IMPORT_COLUMNS = field_lists.METER_REGISTRATION
_INT_CHOICES = {
    "device_type": DeviceType,
    "phase": Phase,
    "meter_type": MeterType,
    "communication_mode": CommunicationMode,
    "communication_type": CommunicationType,
    "activation_status": ActivationStatus,
}


class _RowError(Exception):
    pass


def _read_csv(file) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    raw = file.read()
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _RowError("the file is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = []
    for row in reader:
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue  # blank line
        if None in row:
            values["__extra__"] = "yes"
        rows.append((reader.line_num, values))
    return header, rows


def _int_in(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise _RowError(f"{name} {value!r} is not a whole number") from exc
    if not low <= number <= high:
        raise _RowError(f"{name} {number} is out of range {low}..{high}")
    return number


def _choice(value: str, name: str, choices) -> int:
    try:
        number = int(value)
    except ValueError:
        by_label = {label.lower(): v for v, label in choices.choices}
        if value.lower() in by_label:
            return by_label[value.lower()]
        raise _RowError(f"{name} {value!r} is not one of {choices.values}") from None
    if number not in choices.values:
        raise _RowError(f"{name} {number} is not one of {choices.values}")
    return number


def _transformer_index() -> tuple[dict[str, list[int]], dict[str, int]]:
    """Transformers by bare code (may be ambiguous) and by full path ``D/C/Dv/S/F/T``."""
    by_code: dict[str, list[int]] = {}
    by_path: dict[str, int] = {}
    rows = Transformer.objects.values_list(
        "pk",
        "feeder__subdivision__division__circle__disco__code",
        "feeder__subdivision__division__circle__code",
        "feeder__subdivision__division__code",
        "feeder__subdivision__code",
        "feeder__code",
        "code",
    )
    for pk, *codes in rows:
        by_code.setdefault(codes[-1], []).append(pk)
        by_path["/".join(codes)] = pk
    return by_code, by_path


def _parse_row(
    values: dict[str, str],
    *,
    default_mdc: Mdc | None,
    mdcs: dict[str, Mdc],
    transformers: tuple[dict[str, list[int]], dict[str, int]],
    consumers: dict[str, int],
) -> dict[str, Any]:
    if values.get("__extra__"):
        raise _RowError("more values than columns")
    for name, value in values.items():
        if "\x00" in value:
            raise _RowError(f"{name} contains a NUL character")
    msn_text = values.get("msn", "")
    if not msn_text:
        raise _RowError("msn is missing")
    if not (msn_text.isascii() and msn_text.isdigit()):  # "²".isdigit() is True
        raise _RowError(f"msn {msn_text!r} is not a positive whole number")
    msn = int(msn_text)
    problem = validation.msn_problem(msn)  # the rule of the model, for the API and pages too
    if problem:
        raise _RowError(problem)
    row: dict[str, Any] = {"msn": msn}

    gdid = values.get("global_device_id", "")
    if gdid:
        problem = device_id_problem(gdid)
        if problem:
            raise _RowError(problem)
    row["global_device_id"] = gdid or None

    mdc_code = values.get("mdc", "")
    if mdc_code:
        if mdc_code not in mdcs:
            raise _RowError(f"unknown MDC code {mdc_code!r}")
        row["mdc"] = mdcs[mdc_code]
    elif default_mdc is not None:
        row["mdc"] = default_mdc
    else:
        raise _RowError("mdc is missing (no column value and no MDC chosen for the import)")

    for name, choices in _INT_CHOICES.items():
        if values.get(name):
            row[name] = _choice(values[name], name, choices)
    if values.get("communication_interval"):
        row["communication_interval"] = _int_in(
            values["communication_interval"], "communication_interval", 1, 10080
        )
    if values.get("mdi_reset_date"):
        row["mdi_reset_date"] = _int_in(values["mdi_reset_date"], "mdi_reset_date", 1, 28)
    if values.get("mdi_reset_time"):
        text = values["mdi_reset_time"]
        try:
            row["mdi_reset_time"] = datetime.time.fromisoformat(text)
        except ValueError as exc:
            raise _RowError(f"mdi_reset_time {text!r} is not a time like 00:00:00") from exc
    for name in ("sim_number", "sim_id"):
        if values.get(name):
            if len(values[name]) > 50:
                raise _RowError(f"{name} is longer than 50 characters")
            row[name] = values[name]
    if values.get("profile_hint"):
        hint = values["profile_hint"].lower()
        if hint not in ProfileHint.values:
            raise _RowError(f"profile_hint {hint!r} is not one of {ProfileHint.values}")
        row["profile_hint"] = hint

    code = values.get("transformer", "")
    if code:
        by_code, by_path = transformers
        if "/" in code:
            if code not in by_path:
                raise _RowError(f"unknown transformer path {code!r}")
            row["transformer_id"] = by_path[code]
        else:
            found = by_code.get(code, [])
            if not found:
                raise _RowError(f"unknown transformer code {code!r}")
            if len(found) > 1:
                raise _RowError(
                    f"transformer code {code!r} is ambiguous: give the path "
                    "DISCO/CIRCLE/DIVISION/SUBDIVISION/FEEDER/TRANSFORMER"
                )
            row["transformer_id"] = found[0]
    reference = values.get("consumer", "")
    if reference:
        if reference not in consumers:
            raise _RowError(f"unknown consumer reference {reference!r}")
        row["consumer_id"] = consumers[reference]
    return row


def meters_import_csv(
    *,
    actor,
    file,
    mdc: Mdc | None = None,
    all_or_nothing: bool = False,
    send_device_creation: bool = False,
) -> ImportReport:
    """See :func:`_meters_import_csv`; with ``send_device_creation`` the imported meters are
    then created at their MDCs (device_creation, tracked commands). The import stands if the
    commands cannot be sent; the report says why."""
    from django.core.exceptions import PermissionDenied

    report = _meters_import_csv(actor=actor, file=file, mdc=mdc, all_or_nothing=all_or_nothing)
    if send_device_creation and report.created_ids:
        try:
            sent = meters_device_creation_send(actor=actor, meters=report.created_ids)
            report.device_creation_requests = [r.pk for r in sent]
        except (ValidationError, PermissionDenied) as exc:
            report.device_creation_error = "; ".join(getattr(exc, "messages", [str(exc)]))
    return report


def _meters_import_csv(
    *, actor, file, mdc: Mdc | None = None, all_or_nothing: bool = False
) -> ImportReport:
    """Register meters from a CSV file (header row; columns in ``IMPORT_COLUMNS``, ``msn``
    required, ``mdc`` by code unless ``mdc`` is given, ``transformer`` by code or path,
    ``consumer`` by reference number). Every bad row is reported with its line number; the good
    rows are created, or none when ``all_or_nothing`` and any row is bad. A few queries in all,
    whatever the number of rows."""
    report = ImportReport()
    try:
        validation.import_file_size(file)
    except ValidationError as exc:
        report.errors.append((0, exc.messages[0]))
        return report
    try:
        header, rows = _read_csv(file)
    except (_RowError, csv.Error) as exc:
        report.errors.append((0, str(exc)))
        return report
    report.rows_total = len(rows)
    if "msn" not in header:
        report.errors.append((1, "the header has no 'msn' column"))
        return report
    unknown = [name for name in header if name and name not in IMPORT_COLUMNS]
    if unknown:
        report.errors.append((1, f"unknown columns: {', '.join(unknown)}"))
        return report

    mdcs = {m.code: m for m in Mdc.objects.all()}
    transformers = _transformer_index()
    references = {values.get("consumer") for _, values in rows} - {"", None}
    consumers = dict(
        Consumer.objects.filter(reference_no__in=references).values_list("reference_no", "pk")
    )

    parsed: list[tuple[int, dict[str, Any]]] = []
    seen_msn: dict[int, int] = {}
    seen_gdid: dict[str, int] = {}
    for line_no, values in rows:
        try:
            row = _parse_row(
                values, default_mdc=mdc, mdcs=mdcs, transformers=transformers, consumers=consumers
            )
        except _RowError as exc:
            report.errors.append((line_no, str(exc)))
            continue
        if row["msn"] in seen_msn:
            report.errors.append(
                (line_no, f"msn {row['msn']} repeats line {seen_msn[row['msn']]} of this file")
            )
            continue
        seen_msn[row["msn"]] = line_no
        gdid = row["global_device_id"]
        if gdid and gdid in seen_gdid:
            report.errors.append(
                (line_no, f"global_device_id {gdid} repeats line {seen_gdid[gdid]} of this file")
            )
            continue
        if gdid:
            seen_gdid[gdid] = line_no
        parsed.append((line_no, row))

    existing_msn = set(
        Meter.objects.filter(msn__in=[r["msn"] for _, r in parsed]).values_list("msn", flat=True)
    )
    existing_gdid = set(
        Meter.objects.filter(global_device_id__in=list(seen_gdid)).values_list(
            "global_device_id", flat=True
        )
    )
    good: list[dict[str, Any]] = []
    for line_no, row in parsed:
        if row["msn"] in existing_msn:
            report.errors.append((line_no, f"msn {row['msn']} is already registered"))
        elif row["global_device_id"] in existing_gdid:
            report.errors.append(
                (line_no, f"global_device_id {row['global_device_id']} is already registered")
            )
        else:
            good.append(row)
    report.errors.sort()

    if report.errors and all_or_nothing:
        good = []
    if good:
        try:
            with transaction.atomic():
                needed = sum(1 for row in good if not row["global_device_id"])
                new_ids = iter(device_ids_next(needed, taken=set(seen_gdid)))
                meters = [
                    Meter(**{**row, "global_device_id": row["global_device_id"] or next(new_ids)})
                    for row in good
                ]
                Meter.objects.bulk_create(meters, batch_size=1000)
                report.created = len(meters)
                report.created_ids = [m.pk for m in meters]
                _audit_import(actor, report, mdc)
        except IntegrityError as exc:
            report.created = 0
            report.errors.append((0, f"nothing imported: a conflicting meter appeared ({exc})"))
    else:
        with transaction.atomic():
            _audit_import(actor, report, mdc)
    return report


def _audit_import(actor, report: ImportReport, mdc: Mdc | None) -> None:
    audit_record(
        actor=actor,
        action="registry.meter.import",
        target=mdc,
        summary=(
            f"Imported {report.created} of {report.rows_total} meters from CSV"
            + (f" ({len(report.errors)} bad rows)" if report.errors else "")
        ),
        detail={
            "created": report.created,
            "rows_total": report.rows_total,
            "errors": [list(e) for e in report.errors[:200]],
        },
    )
