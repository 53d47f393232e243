"""A conformance run's report as PDF (``apps.core.pdf``): the run, a summary per group, every
check with its verdict, then the evidence of each check (notes, request and answer excerpts,
secrets already redacted when they were recorded). Built from the kept run, so the PDF of a run
always says what its page says; runs are compared by check code (``selectors.runs_diff``)."""

from __future__ import annotations

from collections import Counter

from django.utils import timezone

from apps.conformance.choices import CheckOutcome as O
from apps.conformance.models import ConformanceRun
from apps.core.pdf import Table, render_pdf

#: Characters of an answer body printed per exchange.
BODY_CHARS = 300
#: Exchanges printed per check (the page shows them all).
EXCHANGES_PER_CHECK = 3


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %z") if value else "-"


def _exchange_line(exchange: dict) -> str:
    request, response = exchange.get("request", {}), exchange.get("response", {})
    form = ", ".join(f"{k}={v}" for k, v in (request.get("form") or {}).items())
    if "error" in response:
        answer = response["error"]
    else:
        body = str(response.get("body", ""))[:BODY_CHARS]
        answer = f"HTTP {response.get('status')} {body}"
    return f"{request.get('method', '')} {request.get('path', '')} [{form[:200]}] -> {answer}"


def run_pdf(run: ConformanceRun) -> bytes:
    checks = list(run.checks.order_by("position"))
    groups: dict[str, Counter] = {}
    for check in checks:
        groups.setdefault(check.group, Counter())[check.outcome] += 1
    parts: list = [
        f"MDC {run.mdc.code} ({run.mdc.name}), UDIL profile {run.profile}, "
        f"{run.mdc.get_data_format_display()}.",
        f"State {run.get_state_display()}: {run.passed} passed, {run.failed} failed, "
        f"{run.total - run.passed - run.failed} other, of {run.total} checks. "
        f"Started {_when(run.started_at)}, finished {_when(run.finished_at)}, "
        f"by {run.created_by.get_username() if run.created_by else '-'}.",
        f"Meters: {', '.join(run.device_ids)}.",
        Table(
            ["Group", "Passed", "Failed", "Not applicable", "Pending"],
            [
                (g, c[O.PASSED], c[O.FAILED], c[O.NOT_APPLICABLE], c[O.PENDING])
                for g, c in groups.items()
            ],
        ),
        Table(
            ["#", "Check", "Outcome", "Summary"],
            [(c.position + 1, c.code, c.get_outcome_display(), c.summary[:200]) for c in checks],
            highlight={i for i, c in enumerate(checks) if c.outcome == O.FAILED},
        ),
        "Evidence",
    ]
    for check in checks:
        evidence = check.evidence or {}
        lines = [f"{check.code}: {check.get_outcome_display()}. {check.title}"]
        lines += [f"note: {note}" for note in (evidence.get("notes") or [])[:10]]
        exchanges = evidence.get("exchanges") or []
        lines += [_exchange_line(x) for x in exchanges[:EXCHANGES_PER_CHECK]]
        if len(exchanges) > EXCHANGES_PER_CHECK:
            lines.append(f"... {len(exchanges) - EXCHANGES_PER_CHECK} more exchanges on the page")
        parts.extend(lines)
    return render_pdf(
        title=f"Conformance run {run.pk}: {run.mdc.code}",
        subtitle=f"UDIL MDM conformance bench, printed {_when(timezone.now())}",
        parts=parts,
    )
