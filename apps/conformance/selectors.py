"""Reads of the conformance bench: runs of an MDC and the comparison of two runs."""

from __future__ import annotations

from dataclasses import dataclass

from apps.conformance.models import ConformanceRun


@dataclass(frozen=True)
class DiffRow:
    code: str
    title: str
    before: str | None
    after: str | None
    before_summary: str
    after_summary: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def runs_diff(before: ConformanceRun, after: ConformanceRun) -> list[DiffRow]:
    """Every check of either run by code (catalogue order of ``after``, then the ones only
    ``before`` has), with both outcomes."""
    old = {c.code: c for c in before.checks.order_by("position")}
    new = {c.code: c for c in after.checks.order_by("position")}
    codes = list(new) + [c for c in old if c not in new]
    rows = []
    for code in codes:
        a, b = old.get(code), new.get(code)
        rows.append(
            DiffRow(
                code=code,
                title=(b or a).title,
                before=a.outcome if a else None,
                after=b.outcome if b else None,
                before_summary=a.summary if a else "",
                after_summary=b.summary if b else "",
            )
        )
    return rows
