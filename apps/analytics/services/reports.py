"""Reports (feeder loss, communication health, events, completeness) as CSV and PDF, run on demand
or by beat, kept for download with who ran them.

A request is a ``Report`` row (queued); a worker builds it (``report_build``, queued after the
request commits) from the roll-ups, through the same selectors the pages use, and stores both
files in the row. Building twice does nothing the second time (a done report stays as it is).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.analytics import selectors
from apps.analytics.choices import ReportKind, ReportState
from apps.analytics.models import EventDay, NodeDay, Report
from apps.audit.services import audit_record
from apps.core.export import cell_text, neutralise
from apps.core.pdf import Chart, Table, render_pdf
from apps.udil.datasets import EVENT_CODES
from apps.warehouse.partitions import today_pkt

MAX_REPORT_DAYS = 366
#: levels each kind may be cut by (the first is the default)
KIND_LEVELS: dict[str, tuple[str, ...]] = {
    ReportKind.FEEDER_LOSS: ("feeder", "transformer"),
    ReportKind.COMMUNICATION: ("feeder", "transformer", "mdc"),
    ReportKind.EVENTS: ("mdc", "feeder", "transformer", "subdivision"),
    ReportKind.COMPLETENESS: ("feeder", "mdc", "transformer", "subdivision"),
}


@dataclass
class ReportContent:
    title: str
    header: list[str]
    rows: list[list]
    notes: list[str] = field(default_factory=list)
    chart: Chart | None = None
    highlight: set[int] = field(default_factory=set)


# --- content per kind ----------------------------------------------------------------------------


def _feeder_loss(report: Report) -> ReportContent:
    rows = selectors.energy_balance(level=report.level, start=report.start, end=report.end)
    return ReportContent(
        title=f"Energy balance per {report.level}",
        header=["Node", "Input kWh", "Consumers kWh", "Billed kWh", "Loss kWh", "Loss %", "Band",
                "Consumers", "Complete %", "On estimated data %"],
        rows=[[b.code, b.input_kwh, b.consumers_kwh, b.billed_kwh, b.loss_kwh, b.loss_pct,
               b.band, b.consumers, b.completeness_pct, b.estimated_pct] for b in rows],
        notes=["Loss is input energy less the consumers' metered energy; highest loss first."],
        chart=Chart("Loss %", [b.code for b in rows], [float(b.loss_pct or 0) for b in rows]),
        highlight={i for i, b in enumerate(rows) if (b.loss_pct or 0) >= 40},
    )  # fmt: skip


def _communication(report: Report) -> ReportContent:
    hours = settings.ANALYTICS_SILENT_HOURS
    tiles = selectors.health_tiles(level=report.level, hours=hours)
    return ReportContent(
        title=f"Communication health per {report.level}",
        header=["Node", "Meters", "Silent", "Silent %"],
        rows=[[t.code, t.meters, t.silent, round(100 * t.silent / t.meters, 1) if t.meters else 0]
              for t in tiles],
        notes=[f"A meter is silent without a reading in the last {hours} hours (at the time the "
               "report ran)."],
        chart=Chart("Silent meters", [t.code for t in tiles], [t.silent for t in tiles]),
        highlight={i for i, t in enumerate(tiles) if t.colour == "danger"},
    )  # fmt: skip


def _events(report: Report) -> ReportContent:
    rows = list(
        EventDay.objects.filter(day__gte=report.start, day__lte=report.end)
        .values("event_code")
        .annotate(events=Sum("events"), meters=Count("global_device_id", distinct=True))
        .order_by("-events", "event_code")
    )
    tamper = set(settings.ANALYTICS_TAMPER_CODES)
    return ReportContent(
        title="Events by code",
        header=["Code", "Event", "Events", "Meters", "Tamper"],
        rows=[[r["event_code"], EVENT_CODES.get(r["event_code"], ""), r["events"], r["meters"],
               "yes" if r["event_code"] in tamper else ""] for r in rows],
        notes=["Tamper events (highlighted) are those the suspects list scores."],
        chart=Chart("Events", [str(r["event_code"]) for r in rows], [r["events"] for r in rows]),
        highlight={i for i, r in enumerate(rows) if r["event_code"] in tamper},
    )  # fmt: skip


def _completeness(report: Report) -> ReportContent:
    rows = list(
        NodeDay.objects.filter(level=report.level, day__gte=report.start, day__lte=report.end)
        .values("node_id")
        .annotate(readings=Sum("readings"), expected=Sum("expected"), days=Count("day"))
        .order_by("node_id")
    )
    codes = selectors._node_codes(report.level, [r["node_id"] for r in rows])
    out = []
    for r in rows:
        pct = round(100 * r["readings"] / r["expected"], 1) if r["expected"] else None
        out.append([codes.get(r["node_id"], str(r["node_id"])), r["days"], r["readings"],
                    r["expected"], pct])  # fmt: skip
    out.sort(key=lambda row: (row[4] if row[4] is not None else -1, row[0]))
    return ReportContent(
        title=f"Completeness per {report.level}",
        header=["Node", "Days", "Readings", "Expected", "Complete %"],
        rows=out,
        notes=["Readings received against the readings full days have; least complete first."],
        chart=Chart("Complete %", [r[0] for r in out], [float(r[4] or 0) for r in out]),
        highlight={i for i, r in enumerate(out) if r[4] is not None and r[4] < 90},
    )


BUILDERS: dict[str, Callable[[Report], ReportContent]] = {
    ReportKind.FEEDER_LOSS: _feeder_loss,
    ReportKind.COMMUNICATION: _communication,
    ReportKind.EVENTS: _events,
    ReportKind.COMPLETENESS: _completeness,
}


def _csv_bytes(content: ReportContent) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(content.header)
    for row in content.rows:
        writer.writerow([neutralise(cell_text(v)) if isinstance(v, str) else cell_text(v)
                         for v in row])  # fmt: skip
    return out.getvalue().encode("utf-8-sig")  # a spreadsheet reads UTF-8 with the mark


def _pdf_bytes(report: Report, content: ReportContent) -> bytes:
    who = report.requested_by.get_username() if report.requested_by else "schedule"
    ran = timezone.localtime(report.started_at or timezone.now())
    parts: list = [*content.notes]
    if content.chart is not None and content.rows:
        parts.append(content.chart)
    parts.append(Table(content.header, content.rows, highlight=content.highlight))
    if not content.rows:
        parts.append("No data in this period.")
    return render_pdf(
        title=f"{content.title}, {report.start} to {report.end}",
        subtitle=f"Report #{report.pk}, run by {who} at {ran:%Y-%m-%d %H:%M %z}",
        parts=parts,
        wide=len(content.header) > 6,
    )


# --- services ------------------------------------------------------------------------------------


def _validate(kind: str, start: dt.date, end: dt.date, level: str) -> None:
    if kind not in BUILDERS:
        raise ValidationError({"kind": f"Unknown report {kind!r}."})
    if start > end:
        raise ValidationError({"start": "The start date is after the end date."})
    if (end - start).days >= MAX_REPORT_DAYS:
        raise ValidationError({"end": f"A report covers at most {MAX_REPORT_DAYS} days."})
    if level not in KIND_LEVELS[kind]:
        raise ValidationError({"level": f"A {ReportKind(kind).label} report is per one of "
                                        f"{', '.join(KIND_LEVELS[kind])}."})  # fmt: skip


def report_request(
    *, actor, kind: str, start: dt.date, end: dt.date, level: str = "", scheduled: bool = False
) -> Report:
    """Queue a report; a worker builds it once this transaction commits."""
    level = level or KIND_LEVELS.get(kind, ("feeder",))[0]
    _validate(kind, start, end, level)
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        report = Report.objects.create(
            kind=kind, start=start, end=end, level=level, requested_by=user, scheduled=scheduled
        )
        audit_record(
            actor=actor,
            action="analytics.report_request",
            target=report,
            summary=f"{report.get_kind_display()} report {start} to {end} per {level}",
            detail={"kind": kind, "start": start.isoformat(), "end": end.isoformat(),
                    "level": level, "scheduled": scheduled},
        )  # fmt: skip
        from apps.analytics.tasks import report_build as build_task

        transaction.on_commit(lambda: build_task.delay(report.pk), robust=True)
    return report


def report_build(*, report_id: int) -> Report:
    """Build a queued report's CSV and PDF (a done or running one is left alone)."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.state not in (ReportState.QUEUED, ReportState.FAILED):
            return report
        report.state, report.started_at, report.progress, report.error = (
            ReportState.RUNNING, timezone.now(), 10, ""
        )  # fmt: skip
        report.save(update_fields=["state", "started_at", "progress", "error"])
    try:
        content = BUILDERS[report.kind](report)
        Report.objects.filter(pk=report.pk).update(progress=50)
        csv_data = _csv_bytes(content)
        pdf_data = _pdf_bytes(report, content)
    except Exception as exc:  # recorded on the report, shown on its page
        report.state, report.error = ReportState.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        report.finished_at = timezone.now()
        report.save(update_fields=["state", "error", "finished_at"])
        audit_record(actor=None, action="analytics.report_failed", target=report,
                     summary=f"Report #{report.pk} failed: {report.error[:200]}")  # fmt: skip
        return report
    report.csv_data, report.pdf_data, report.rows = csv_data, pdf_data, len(content.rows)
    report.state, report.progress, report.finished_at = ReportState.DONE, 100, timezone.now()
    report.save(update_fields=["csv_data", "pdf_data", "rows", "state", "progress", "finished_at"])
    audit_record(actor=None, action="analytics.report_build", target=report,
                 summary=f"Report #{report.pk}: {report.rows} rows")  # fmt: skip
    return report


def reports_scheduled(*, day: dt.date | None = None) -> list[Report]:
    """Beat's daily reports: every kind for yesterday (Pakistan), once per day; and on the
    first of a month the feeder loss of the month before."""
    today = day or today_pkt()
    yesterday = today - dt.timedelta(days=1)
    wanted = [(kind, yesterday, yesterday) for kind in BUILDERS]
    if today.day == 1:
        wanted.append((ReportKind.FEEDER_LOSS, yesterday.replace(day=1), yesterday))
    made = []
    for kind, start, end in wanted:
        level = KIND_LEVELS[kind][0]
        if Report.objects.filter(kind=kind, start=start, end=end, level=level,
                                 scheduled=True).exists():  # fmt: skip
            continue  # beat ran twice: once is enough
        made.append(report_request(actor=None, kind=kind, start=start, end=end, level=level,
                                   scheduled=True))  # fmt: skip
    return made
