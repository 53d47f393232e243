"""Validation: every enabled rule over the load profile of a set of meters and a time range.

One run builds ``vee_base`` once (``readings.base_create``), then runs one set-based
statement per rule (``rule_sql``) into ``vee_found`` and merges the findings into the
exceptions in one statement: new ones are inserted, ones found again are refreshed, and
undecided ones no longer found (a late reading filled the gap) are cleared. Estimates whose
interval now has an actual reading are replaced by it (recorded as a new version). Nothing is
done row by row in Python, so the cost grows with the rows, not with Python loops.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.services import audit_record
from apps.registry.models import Mdc, Meter
from apps.vee.choices import UNDECIDED, ExceptionStatus, RunTrigger
from apps.vee.models import Rule, ValidationRun
from apps.vee.readings import Scope, base_create
from apps.vee.rule_types import parameters_effective
from apps.vee.services.rule_sql import STATEMENTS

_TEMP_TABLES = """
DROP TABLE IF EXISTS vee_rule_scope;
DROP TABLE IF EXISTS vee_found;
CREATE TEMP TABLE vee_rule_scope (rule_id int, meter_id int, PRIMARY KEY (rule_id, meter_id))
    ON COMMIT DROP;
CREATE TEMP TABLE vee_found (
    rule_id int, meter_id int, channel_id int, period_start timestamptz,
    period_end timestamptz, vals jsonb
) ON COMMIT DROP;
"""

# Findings merged into the exceptions: new keys inserted; a key found again refreshes its values
# while nobody has decided (a cleared one opens again); (xmax = 0) tells inserted rows apart.
_MERGE = """
WITH merged AS (
    INSERT INTO vee_validationexception AS e
        (rule_id, meter_id, channel_id, period_start, period_end, "values", severity, status,
         explanation, note, first_run_id, last_run_id, created_at, updated_at)
    SELECT DISTINCT ON (f.rule_id, f.meter_id, f.channel_id, f.period_start)
           f.rule_id, f.meter_id, f.channel_id, f.period_start, f.period_end, f.vals,
           r.severity, 'open', '', '', %(run_id)s, %(run_id)s, now(), now()
    FROM vee_found f JOIN vee_rule r ON r.id = f.rule_id
    ORDER BY f.rule_id, f.meter_id, f.channel_id, f.period_start, f.period_end DESC
    ON CONFLICT (rule_id, meter_id, channel_id, period_start) DO UPDATE
        SET period_end = EXCLUDED.period_end, "values" = EXCLUDED."values",
            last_run_id = EXCLUDED.last_run_id, updated_at = now(),
            status = CASE WHEN e.status = 'cleared' THEN 'open' ELSE e.status END
        WHERE e.status IN ('open', 'estimated', 'cleared')
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM merged
"""

_CLEAR = """
UPDATE vee_validationexception e
SET status = 'cleared', last_run_id = %(run_id)s, updated_at = now()
FROM vee_rule_scope rs
WHERE rs.rule_id = e.rule_id AND rs.meter_id = e.meter_id
  AND e.status = ANY(%(undecided)s)
  AND e.period_start > %(start)s AND e.period_start <= %(end)s
  AND NOT EXISTS (
      SELECT 1 FROM vee_found f
      WHERE f.rule_id = e.rule_id AND f.meter_id = e.meter_id AND f.channel_id = e.channel_id
        AND f.period_start = e.period_start)
"""

# An estimate whose interval now has an actual reading: the actual becomes the current version
# (register readings win over estimates); edits typed by a person are left as they are.
_ACTUALISE = """
WITH replaced AS (
    UPDATE vee_valueversion v SET is_current = false
    FROM vee_base b
    WHERE v.meter_id = b.meter_id AND v.channel_id = b.channel_id AND v.meter_datetime = b.at
      AND v.quantity = 'active_kwh' AND v.is_current AND v.kind = 'estimated'
      AND b.consumption IS NOT NULL
    RETURNING v.meter_id, v.channel_id, v.meter_datetime, v.version, v.value, v.method,
              v.exception_id, b.consumption
), inserted AS (
    INSERT INTO vee_valueversion
        (meter_id, channel_id, meter_datetime, quantity, version, kind, value, method, inputs,
         reason, exception_id, actor_id, actor_name, is_current, created_at)
    SELECT meter_id, channel_id, meter_datetime, 'active_kwh', version + 1, 'actual',
           consumption, 'late_actual',
           jsonb_build_object('replaced_version', version, 'estimate', value,
                              'estimate_method', method, 'validation_run', %(run_id)s),
           'An actual reading arrived after the estimate.', exception_id, NULL, 'system',
           true, now()
    FROM replaced
    RETURNING 1
)
SELECT count(*) FROM inserted
"""


def scope_of(meters: Iterable[Meter]) -> Scope:
    meters = list(meters)
    kinds = dict(
        Mdc.objects.filter(pk__in={m.mdc_id for m in meters}).values_list("pk", "lp_energy_kind")
    )
    return Scope(
        meter_ids=[m.pk for m in meters],
        device_ids=[m.global_device_id for m in meters],
        registers=[kinds[m.mdc_id] != "interval" for m in meters],
    )


def _rules_with_meters(candidates: QuerySet[Meter]) -> list[tuple[Rule, list[int]]]:
    """Each enabled rule with the candidate meters its rule set applies to (one query per
    rule set)."""
    rules = list(
        Rule.objects.filter(enabled=True, rule_set__enabled=True).select_related("rule_set")
    )
    meters_of_set: dict[int, list[int]] = {}
    for rule in rules:
        if rule.rule_set_id not in meters_of_set:
            ids = rule.rule_set.meters().filter(pk__in=candidates.values("pk"))
            meters_of_set[rule.rule_set_id] = list(ids.values_list("pk", flat=True))
    return [(rule, meters_of_set[rule.rule_set_id]) for rule in rules]


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.description:
            return int(cursor.fetchone()[0])
        return cursor.rowcount


def validation_run(
    *,
    start: dt.datetime,
    end: dt.datetime,
    meters: QuerySet[Meter] | None = None,
    mdc: Mdc | None = None,
    trigger: str = RunTrigger.ON_DEMAND,
    ingestion_run_id: int | None = None,
    actor=None,
    estimate: bool = True,
) -> ValidationRun:
    """Validate the load profile of ``meters`` (default: every meter, or the MDC's) with
    ``start < meter_datetime <= end``; then estimate what is newly missing (``estimate``)."""
    if end <= start:
        raise ValueError("The end of the range must be after its start.")
    from apps.vee.services.estimation import estimates_make
    from apps.vee.services.registers import registers_from_load_profile

    candidates = meters if meters is not None else Meter.objects.all()
    if mdc is not None:
        candidates = candidates.filter(mdc=mdc)
    clock = time.perf_counter()
    with transaction.atomic():
        run = ValidationRun.objects.create(
            trigger=trigger,
            mdc=mdc,
            ingestion_run_id=ingestion_run_id,
            range_start=start,
            range_end=end,
            started_at=timezone.now(),
        )
        rules = [(rule, ids) for rule, ids in _rules_with_meters(candidates) if ids]
        covered = sorted({pk for _rule, ids in rules for pk in ids})
        scope = scope_of(Meter.objects.filter(pk__in=covered).only("pk", "global_device_id", "mdc"))
        run.meters = len(scope)
        registers = (0, 0)  # daily registers estimated from load profile, replaced by actuals
        if scope:
            run.intervals = base_create(scope=scope, start=start, end=end)
            with connection.cursor() as cursor:
                cursor.execute(_TEMP_TABLES)
                for rule, ids in rules:
                    cursor.execute(
                        "INSERT INTO vee_rule_scope SELECT %s, unnest(%s::int[])", [rule.pk, ids]
                    )
            for rule, _ids in rules:
                params = parameters_effective(rule.rule_type, rule.parameters)
                _execute(
                    STATEMENTS[rule.rule_type],
                    {"rule_id": rule.pk, "range_start": start, "range_end": end, **params},
                )
            run.found = _execute(_MERGE, {"run_id": run.pk})
            run.cleared = _execute(
                _CLEAR,
                {"run_id": run.pk, "undecided": list(UNDECIDED), "start": start, "end": end},
            )
            run.actualised = _execute(_ACTUALISE, {"run_id": run.pk})
            if estimate:
                run.estimated = estimates_make(
                    exceptions=run_new_gaps(run=run), method=None, actor=actor, audit=False
                )
                registers = registers_from_load_profile(start=start, end=end)
        run.duration_seconds = time.perf_counter() - clock
        run.save()
        audit_record(
            actor=actor,
            action="vee.validation_run",
            target=run,
            summary=(
                f"Validated {run.meters} meters, {run.intervals} intervals: {run.found} new "
                f"exceptions, {run.cleared} cleared, {run.estimated} intervals estimated, "
                f"{run.actualised} estimates replaced by actual readings."
            ),
            detail={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "trigger": trigger,
                "mdc": mdc.pk if mdc else None,
                "ingestion_run": ingestion_run_id,
                "registers_estimated": registers[0],
                "registers_actualised": registers[1],
            },
        )
    return run


def run_new_gaps(*, run: ValidationRun):
    """Open gap exceptions this run touched: the ones to estimate automatically."""
    from apps.vee.models import ValidationException

    return ValidationException.objects.filter(
        last_run=run, status=ExceptionStatus.OPEN, rule__rule_type="gap"
    )


_TOUCHED = """
SELECT array_agg(DISTINCT global_device_id), min(meter_datetime), max(meter_datetime)
FROM {table}
WHERE mdc_id = %(mdc_id)s AND ingested_at >= %(since)s AND ingested_at <= %(until)s
"""


def _day_start(at: dt.datetime) -> dt.datetime:
    """Midnight (PKT) opening the day a reading belongs to (one at 00:00 closes the day before)."""
    day = timezone.localtime(at - dt.timedelta(microseconds=1))
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def validation_after_ingestion(*, ingestion_run_id: int) -> ValidationRun | None:
    """Validate the whole Pakistan days of the meters whose rows one ingestion run inserted or
    changed (the rows are told by ``ingested_at``, which the loader stamps on both)."""
    from apps.ingestion.models import IngestionRun

    run = IngestionRun.objects.select_related("mdc").get(pk=ingestion_run_id)
    table = {"load_profile": "warehouse_load_profile", "billing": "warehouse_billing"}[run.dataset]
    until = run.finished_at or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _TOUCHED.format(table=table),
            {"mdc_id": run.mdc_id, "since": run.started_at, "until": until},
        )
        device_ids, first, last = cursor.fetchone()
    if not device_ids:
        return None
    start = _day_start(first)
    end = _day_start(last) + dt.timedelta(days=1)
    meters = Meter.objects.filter(global_device_id__in=device_ids)
    return validation_run(
        start=start,
        end=end,
        meters=meters,
        mdc=run.mdc,
        trigger=RunTrigger.INGESTION,
        ingestion_run_id=run.pk,
    )
