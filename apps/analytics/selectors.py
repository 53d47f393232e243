"""Reads of analytics, all from the roll-ups (never the raw warehouse partitions): energy
balance per feeder and transformer, communication health, completeness, load curves, events
by code, command success rates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from apps.analytics.choices import LOSS_BAND_LIMITS, LossBand, NodeLevel
from apps.analytics.models import EventDay, InputMeter, MeterDay, NodeDay
from apps.registry.models import Feeder, Meter, Transformer

HUNDRED = Decimal(100)


def loss_band(loss_pct: Decimal | None) -> str | None:
    if loss_pct is None:
        return None
    for limit, band in LOSS_BAND_LIMITS:
        if loss_pct < limit:
            return band
    return LossBand.B80


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * HUNDRED / whole).quantize(Decimal("0.01")) if whole else None


@dataclass(frozen=True)
class Balance:
    level: str
    node_id: int
    code: str
    #: none: the node has no input meter (a drill-down row: only its consumers are known)
    input_kwh: Decimal | None
    consumers_kwh: Decimal
    billed_kwh: Decimal | None
    loss_kwh: Decimal | None
    loss_pct: Decimal | None
    band: str | None
    consumers: int
    completeness_pct: Decimal | None
    #: share of the energy in the balance (input and consumers) on VEE-estimated readings
    estimated_pct: Decimal | None


_INPUTS_SQL = """
SELECT im.{node}_id, COALESCE(sum(md.active_kwh), 0), COALESCE(sum(md.estimated_kwh), 0)
FROM analytics_inputmeter im
JOIN registry_meter m ON m.id = im.meter_id
LEFT JOIN analytics_meterday md ON md.global_device_id = m.global_device_id
  AND md.day BETWEEN %(start)s AND %(end)s
WHERE im.{node}_id IS NOT NULL {only}
GROUP BY 1
"""


def _billed_by_feeder(start: dt.date, end: dt.date) -> dict[int, Decimal]:
    """Billed units per feeder from the billing mirror, when the period is one calendar month
    (bills are monthly); empty otherwise or without billing."""
    from django.apps import apps as django_apps

    next_month = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    whole_month = start.day == 1 and end == next_month - dt.timedelta(days=1)
    if not whole_month or not django_apps.is_installed("apps.billing"):
        return {}
    from apps.billing.selectors import comparison_rows

    billed: dict[int, Decimal] = {}
    for row in comparison_rows(month=start):
        if row.feeder_id is not None and row.billed_units is not None:
            billed[row.feeder_id] = billed.get(row.feeder_id, Decimal(0)) + row.billed_units
    return billed


def _level_model(level: str):
    if level not in (NodeLevel.FEEDER, NodeLevel.TRANSFORMER):
        raise ValueError(f"no energy balance per {level}")
    return Feeder if level == NodeLevel.FEEDER else Transformer


def _balances(*, level: str, start: dt.date, end: dt.date, node_ids=None) -> list[Balance]:
    """Balances of the nodes with an input meter, or (``node_ids`` given) of exactly those
    nodes, with or without one; highest loss first."""
    model = _level_model(level)
    only, params = "", {"start": start, "end": end}
    if node_ids is not None:
        node_ids = list(node_ids)
        only, params["nodes"] = f"AND im.{level}_id = ANY(%(nodes)s)", node_ids
    with connection.cursor() as cursor:
        cursor.execute(_INPUTS_SQL.format(node=level, only=only), params)
        inputs = {node: (kwh, est) for node, kwh, est in cursor.fetchall()}
    nodes = list(inputs) if node_ids is None else node_ids
    consumers = {
        row["node_id"]: row
        for row in NodeDay.objects.filter(
            level=level, node_id__in=nodes, day__gte=start, day__lte=end
        )
        .values("node_id")
        .annotate(
            kwh=Sum("active_kwh"),
            est=Sum("estimated_kwh"),
            readings=Sum("readings"),
            expected=Sum("expected"),
            meters=Max("meters"),
        )
    }
    codes = dict(model.objects.filter(pk__in=nodes).values_list("pk", "code"))
    billed = _billed_by_feeder(start, end) if level == NodeLevel.FEEDER else {}
    out = []
    for node_id in nodes:
        row = consumers.get(node_id, {})
        used = row.get("kwh") or Decimal(0)
        input_kwh, input_est = inputs.get(node_id, (None, Decimal(0)))
        loss = None if input_kwh is None else input_kwh - used
        loss_pct = None if loss is None else _pct(loss, input_kwh)
        out.append(
            Balance(
                level=level,
                node_id=node_id,
                code=codes.get(node_id, str(node_id)),
                input_kwh=input_kwh,
                consumers_kwh=used,
                billed_kwh=billed.get(node_id),
                loss_kwh=loss,
                loss_pct=loss_pct,
                band=loss_band(loss_pct),
                consumers=row.get("meters") or 0,
                completeness_pct=_pct(
                    Decimal(row.get("readings") or 0), Decimal(row.get("expected") or 0)
                ),
                estimated_pct=_pct(
                    (row.get("est") or 0) + input_est, (input_kwh or Decimal(0)) + used
                ),
            )
        )
    return sorted(out, key=lambda b: (-(b.loss_pct or Decimal(-1000)), b.code, b.node_id))


def energy_balance(*, level: str, start: dt.date, end: dt.date) -> list[Balance]:
    """Balance of every feeder (or transformer) with an input meter over ``start``..``end``
    (Pakistan days, inclusive), highest loss first."""
    return _balances(level=level, start=start, end=end)


def node_balance(*, level: str, node_id: int, start: dt.date, end: dt.date) -> Balance:
    """Balance of one feeder or transformer (without an input meter: its consumers only)."""
    [row] = _balances(level=level, start=start, end=end, node_ids=[node_id])
    return row


def feeder_transformer_balances(*, feeder_id: int, start: dt.date, end: dt.date) -> list[Balance]:
    """Balance of every transformer of a feeder (the drill-down): their consumers add up to
    the feeder's, as a consumer counts on a feeder through its transformer."""
    ids = Transformer.objects.filter(feeder_id=feeder_id).values_list("pk", flat=True)
    return _balances(level=NodeLevel.TRANSFORMER, start=start, end=end, node_ids=ids)


@dataclass(frozen=True)
class BalanceDay:
    day: dt.date
    input_kwh: Decimal | None
    consumers_kwh: Decimal
    loss_kwh: Decimal | None


_INPUT_DAYS_SQL = """
SELECT md.day, sum(md.active_kwh)
FROM analytics_inputmeter im
JOIN registry_meter m ON m.id = im.meter_id
JOIN analytics_meterday md ON md.global_device_id = m.global_device_id
  AND md.day BETWEEN %(start)s AND %(end)s
WHERE im.{node}_id = %(node_id)s
GROUP BY 1
"""


def balance_days(*, level: str, node_id: int, start: dt.date, end: dt.date) -> list[BalanceDay]:
    """One node's input, consumers and loss per day of the period (every day, none missing;
    input and loss none if the node has no input meter)."""
    _level_model(level)
    with connection.cursor() as cursor:
        cursor.execute(
            _INPUT_DAYS_SQL.format(node=level),
            {"start": start, "end": end, "node_id": node_id},
        )
        inputs = dict(cursor.fetchall())
    metered = InputMeter.objects.filter(**{f"{level}_id": node_id}).exists()
    used = dict(
        NodeDay.objects.filter(
            level=level, node_id=node_id, day__gte=start, day__lte=end
        ).values_list("day", "active_kwh")
    )
    out = []
    for n in range((end - start).days + 1):
        day = start + dt.timedelta(days=n)
        consumers = used.get(day, Decimal(0))
        input_kwh = inputs.get(day, Decimal(0)) if metered else None
        loss = None if input_kwh is None else input_kwh - consumers
        out.append(BalanceDay(day, input_kwh, consumers, loss))
    return out


# --- communication health -----------------------------------------------------------------------


@dataclass(frozen=True)
class HealthTile:
    level: str
    node_id: int
    code: str
    meters: int
    silent: int

    @property
    def colour(self) -> str:
        if not self.silent:
            return "success"
        return "danger" if self.silent * 2 >= self.meters else "warning"


def silent_meters(*, hours: int | None = None, now: dt.datetime | None = None):
    """Active meters (not input meters) without a reading in the last ``hours``: no meter-day
    roll-up with a later reading. Returns a Meter queryset."""
    hours = settings.ANALYTICS_SILENT_HOURS if hours is None else hours
    since = (now or timezone.now()) - dt.timedelta(hours=hours)
    since_day = timezone.localtime(since).date()
    heard = MeterDay.objects.filter(day__gte=since_day, last_reading_at__gt=since).values(
        "global_device_id"
    )
    return (
        Meter.objects.active()
        .exclude(global_device_id__in=heard)
        .filter(input_of__isnull=True)
        .select_related("mdc", "transformer__feeder")
        .order_by("global_device_id")
    )


_TILE_PATHS = {"mdc": "mdc", "feeder": "transformer__feeder", "transformer": "transformer"}


def health_tiles(*, level: str, hours: int | None = None, now=None) -> list[HealthTile]:
    """Meters and silent meters per MDC, feeder or transformer, most silent first."""
    path = _TILE_PATHS[level]
    silent_ids = silent_meters(hours=hours, now=now).values("pk")
    rows = (
        Meter.objects.active()
        .filter(input_of__isnull=True, **{f"{path}__isnull": False})
        .values(path)
        .annotate(
            code=Max(f"{path}__code"),
            meters=Count("pk"),
            silent=Count("pk", filter=Q(pk__in=silent_ids)),
        )
        .order_by(path)
    )
    tiles = [HealthTile(level, r[path], r["code"], r["meters"], r["silent"]) for r in rows]
    return sorted(tiles, key=lambda t: (-t.silent, t.code, t.node_id))


# --- completeness, load, events -----------------------------------------------------------------


def completeness_grid(*, level: str, start: dt.date, end: dt.date) -> dict:
    """{"days": [...], "nodes": [(id, code)], "pct": [[% per day] per node]} from the node
    roll-ups (readings received / readings a full day has)."""
    rows = NodeDay.objects.filter(level=level, day__gte=start, day__lte=end).values_list(
        "node_id", "day", "readings", "expected"
    )
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    cells: dict[tuple[int, dt.date], float] = {}
    for node_id, day, readings, expected in rows:
        cells[(node_id, day)] = round(100 * readings / expected, 1) if expected else 0.0
    nodes = sorted({node for node, _ in cells})
    names = _node_codes(level, nodes)
    return {
        "days": days,
        "nodes": [(node, names.get(node, str(node))) for node in nodes],
        "pct": [[cells.get((node, day)) for day in days] for node in nodes],
    }


def _node_codes(level: str, ids) -> dict[int, str]:
    from apps.registry.models import Mdc, Subdivision

    model = {"mdc": Mdc, "subdivision": Subdivision, "feeder": Feeder, "transformer": Transformer}
    return dict(model[level].objects.filter(pk__in=list(ids)).values_list("pk", "code"))


def load_curve(*, level: str, node_id: int, start: dt.date, end: dt.date) -> list[tuple]:
    """(hour, kWh) of a node's consumers, from the meter-hour roll-ups."""
    column = {"mdc": "mdc_id", "subdivision": "subdivision_id", "feeder": "feeder_id",
              "transformer": "transformer_id"}[level]  # fmt: skip
    start_at = dt.datetime.combine(start, dt.time(), tzinfo=timezone.get_current_timezone())
    end_at = start_at + dt.timedelta(days=(end - start).days + 1)
    sql = f"""
    SELECT h.hour, sum(h.active_kwh) FROM analytics_meterhour h
    WHERE h.hour >= %(start)s AND h.hour < %(end)s AND h.global_device_id = ANY(ARRAY(
      SELECT DISTINCT global_device_id FROM analytics_meterday
      WHERE {column} = %(node)s AND day BETWEEN %(d0)s AND %(d1)s AND NOT is_input))
    GROUP BY 1 ORDER BY 1"""  # an array: each meter's hours from its index range (#13)
    params = {"start": start_at, "end": end_at, "node": node_id, "d0": start, "d1": end}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def events_by_code(*, start: dt.date, end: dt.date) -> list[tuple[dt.date, int, int]]:
    """(day, event code, events) from the event roll-ups."""
    return list(
        EventDay.objects.filter(day__gte=start, day__lte=end)
        .values_list("day", "event_code")
        .annotate(n=Sum("events"))
        .order_by("day", "event_code")
    )


def command_success(*, since: dt.datetime) -> list[dict]:
    """Per MDC and command: devices, executed (level 5), failed, success % and the median
    seconds to level 5, of the commands requested since ``since``."""
    sql = """
    SELECT m.code, r.command, count(*),
           count(*) FILTER (WHERE d.status_level = 5),
           count(*) FILTER (WHERE d.outcome IN ('failed', 'timed_out', 'refused')),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY
             extract(epoch FROM d.status_5_datetime - r.created_at))
             FILTER (WHERE d.status_5_datetime IS NOT NULL)
    FROM commands_commanddevice d
    JOIN commands_commandrequest r ON r.id = d.request_id
    JOIN commands_commandtransaction t ON t.id = d.transaction_id
    JOIN registry_mdc m ON m.id = t.mdc_id
    WHERE r.created_at >= %(since)s AND r.command <> 'transaction_cancel'
    GROUP BY 1, 2 ORDER BY 1, 2"""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"since": since})
        return [
            {
                "mdc": mdc,
                "command": command,
                "devices": devices,
                "executed": executed,
                "failed": failed,
                "success_pct": round(100 * executed / devices, 1) if devices else None,
                "median_seconds_to_5": None if median is None else round(median, 1),
            }
            for mdc, command, devices, executed, failed, median in cursor.fetchall()
        ]
