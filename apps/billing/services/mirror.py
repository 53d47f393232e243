"""The billing mirror: what the billing system billed and was paid, imported by CSV file or
through the API. Every bad row is reported by line and reason and nothing is loaded then
(all or nothing); a good import replaces each (consumer, month) bill and adds its payments
(the same payment imported twice is one payment).

CSV columns (header required; ``paid_on``/``paid_amount`` optional, one payment a row; several
rows of one bill must agree on its fields)::

    reference_no,month,billed_units,bill_amount,due_date,arrears,defaulter,paid_on,paid_amount
    0112345000001,2026-11,200.000,5400.00,2026-11-20,0,0,2026-11-18,5400.00
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction

from apps.audit.services import audit_record
from apps.billing.models import MirrorBill, MirrorPayment
from apps.registry.models import Consumer

REQUIRED = ("reference_no", "month", "billed_units", "bill_amount", "due_date")
OPTIONAL = ("arrears", "defaulter", "paid_on", "paid_amount")
COLUMNS = REQUIRED + OPTIONAL
TRUE, FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n", ""}


class MirrorImportInvalid(Exception):
    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        super().__init__(f"{len(errors)} bad row(s); nothing was imported.")


@dataclass(frozen=True)
class MirrorImportResult:
    rows: int
    bills: int
    payments: int


def _decimal(text: str, name: str, places: int) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} {text!r} must be a number of 0 or more")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{name} {text!r} has more than {places} decimals")
    if abs(value) >= Decimal(10) ** 11:
        raise ValueError(f"{name} {text!r} is too large")
    return value


def _date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


def _month(text: str) -> dt.date:
    match = re.fullmatch(r"(\d{4})-(\d{2})(-01)?", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"month {text!r} is not a month (YYYY-MM)")
    return dt.date(int(match[1]), int(match[2]), 1)


def _parse(row: dict, consumers: dict[str, int]) -> tuple[tuple, dict, tuple | None]:
    def text(name: str) -> str:
        value = row.get(name)
        return "" if value is None else str(value).strip()

    if None in row:
        raise ValueError("more values than the header has columns")
    for name in REQUIRED:
        if not text(name):
            raise ValueError(f"{name} is missing")
    reference = text("reference_no")
    if reference not in consumers:
        raise ValueError(f"no consumer with reference number {reference!r}")
    defaulter = text("defaulter").lower()
    if defaulter not in TRUE | FALSE:
        raise ValueError(f"defaulter {text('defaulter')!r} is not 1/0 or yes/no")
    key = (consumers[reference], _month(text("month")))
    fields = {
        "billed_units": _decimal(text("billed_units"), "billed_units", 3),
        "bill_amount": _decimal(text("bill_amount"), "bill_amount", 2),
        "due_date": _date(text("due_date"), "due_date"),
        "arrears": _decimal(text("arrears") or "0", "arrears", 2),
        "defaulter": defaulter in TRUE,
    }
    payment = None
    if text("paid_on") or text("paid_amount"):
        if not (text("paid_on") and text("paid_amount")):
            raise ValueError("a payment needs both paid_on and paid_amount")
        payment = (
            _date(text("paid_on"), "paid_on"),
            _decimal(text("paid_amount"), "paid_amount", 2),
        )
    return key, fields, payment


def mirror_import(*, rows: Iterable[tuple[int, dict]], actor, source: str) -> MirrorImportResult:
    """Import (line, row) pairs; raises ``MirrorImportInvalid`` listing every bad row."""
    rows = list(rows)
    references = {str(r.get("reference_no") or "").strip() for _, r in rows}
    consumers = dict(
        Consumer.objects.filter(reference_no__in=references).values_list("reference_no", "id")
    )
    bills: dict[tuple, dict] = {}
    payments: set[tuple] = set()
    errors: list[tuple[int, str]] = []
    for line, row in rows:
        try:
            key, fields, payment = _parse(row, consumers)
        except ValueError as exc:
            errors.append((line, str(exc)))
            continue
        if key in bills and bills[key] != fields:
            errors.append((line, "disagrees with an earlier row of the same consumer and month"))
            continue
        bills[key] = fields
        if payment:
            payments.add((key, *payment))
    if not rows:
        errors.append((0, "no rows"))
    if errors:
        raise MirrorImportInvalid(errors)
    with transaction.atomic():
        MirrorBill.objects.bulk_create(
            [MirrorBill(consumer_id=c, month=m, **f) for (c, m), f in bills.items()],
            update_conflicts=True,
            unique_fields=["consumer", "month"],
            update_fields=["billed_units", "bill_amount", "due_date", "arrears", "defaulter"],
        )
        ids = {
            (b.consumer_id, b.month): b.pk
            for b in MirrorBill.objects.filter(
                consumer_id__in={c for c, _ in bills}, month__in={m for _, m in bills}
            )
        }
        MirrorPayment.objects.bulk_create(
            [MirrorPayment(bill_id=ids[key], paid_on=on, amount=amt) for key, on, amt in payments],
            ignore_conflicts=True,
        )
        result = MirrorImportResult(rows=len(rows), bills=len(bills), payments=len(payments))
        audit_record(
            actor=actor,
            action="billing.mirror_import",
            summary=f"mirror import from {source}: {result.bills} bills, "
            f"{result.payments} payments",
            detail={"source": source, "rows": result.rows, "bills": result.bills},
        )
    return result


def mirror_import_csv(*, data: bytes, actor, source: str = "file") -> MirrorImportResult:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MirrorImportInvalid([(0, f"the file is not UTF-8 text ({exc.reason})")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise MirrorImportInvalid([(1, f"the header lacks {', '.join(missing)}")])
    reader.fieldnames = header
    rows = [(reader.line_num, row) for row in reader]
    return mirror_import(rows=rows, actor=actor, source=source)
