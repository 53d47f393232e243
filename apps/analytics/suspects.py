"""Theft and tamper suspects, scored from the roll-ups with explainable reasons.

Each reason that holds for a consumer adds its weight (``settings.ANALYTICS_SUSPECT_WEIGHTS``)
and a sentence saying why; thresholds are settings too. The period is compared with the
``ANALYTICS_BASELINE_DAYS`` before it (the consumer's own history) and with the other
consumers of its transformer over the same days (its peers: a whole transformer dropping is
weather, holidays or an outage, not theft).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection

from apps.analytics.choices import NodeLevel, SuspectReason
from apps.analytics.selectors import energy_balance
from apps.registry.choices import RelayState


@dataclass
class Suspect:
    global_device_id: str
    meter_id: int
    transformer_id: int | None
    reference_no: str
    score: int = 0
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (reason code, why)

    def add(self, reason: str, why: str) -> None:
        self.score += settings.ANALYTICS_SUSPECT_WEIGHTS.get(reason, 0)
        self.reasons.append((reason, why))

    @property
    def reason_codes(self) -> list[str]:
        return [code for code, _ in self.reasons]


# One row per consumer meter with days in the period or the baseline: both periods' kWh and
# days, zero days with voltage, highest demand, events of the period by kind. The days are
# grouped by the meter's id (an integer), its device id taken from the registry after: at 35,000
# meters and three weeks, grouping 740,000 days by a text key was most of the page's time (#13).
_FIGURES_SQL = """
WITH days AS (
  SELECT md.meter_id, md.transformer_id,
    COALESCE(sum(md.active_kwh) FILTER (WHERE md.day >= %(start)s), 0) AS kwh,
    count(*) FILTER (WHERE md.day >= %(start)s AND md.readings > 0) AS days,
    COALESCE(sum(md.active_kwh) FILTER (WHERE md.day < %(start)s), 0) AS base_kwh,
    count(*) FILTER (WHERE md.day < %(start)s AND md.readings > 0) AS base_days,
    count(*) FILTER (WHERE md.day >= %(start)s AND md.readings > 0 AND md.active_kwh = 0
                     AND md.max_voltage >= %(volts)s) AS zero_volt_days,
    max(md.max_demand_kw) FILTER (WHERE md.day >= %(start)s) AS max_kw
  FROM analytics_meterday md
  WHERE md.day BETWEEN %(base_start)s AND %(end)s AND NOT md.is_input AND md.meter_id IS NOT NULL
  GROUP BY 1, 2
),
ev AS (
  SELECT e.global_device_id,
    COALESCE(sum(e.events) FILTER (WHERE e.event_code = ANY(%(tamper)s)), 0) AS tamper,
    array_agg(DISTINCT e.event_code) FILTER (WHERE e.event_code = ANY(%(tamper)s)) AS codes,
    COALESCE(sum(e.events) FILTER (WHERE e.event_code = ANY(%(outage)s)), 0) AS outages,
    COALESCE(sum(e.events) FILTER (WHERE e.event_code = %(reset)s
      AND extract(day FROM e.day) <> m.mdi_reset_date), 0) AS resets
  FROM analytics_eventday e JOIN registry_meter m ON m.global_device_id = e.global_device_id
  WHERE e.day BETWEEN %(start)s AND %(end)s
  GROUP BY 1
)
SELECT m.global_device_id, d.meter_id, d.transformer_id, COALESCE(c.reference_no, ''),
       d.kwh, d.days, d.base_kwh, d.base_days, d.zero_volt_days, d.max_kw,
       COALESCE(ev.tamper, 0) AS tamper, ev.codes, COALESCE(ev.outages, 0),
       COALESCE(ev.resets, 0) AS resets, m.relay_state, c.sanctioned_load_kw,
       t.kwh AS t_kwh, t.days AS t_days, t.base_kwh AS t_base_kwh, t.base_days AS t_base_days,
       t.meters AS t_meters
FROM days d
JOIN registry_meter m ON m.id = d.meter_id
LEFT JOIN registry_consumer c ON c.id = m.consumer_id
LEFT JOIN ev ON ev.global_device_id = m.global_device_id
LEFT JOIN (SELECT transformer_id, sum(kwh) AS kwh, sum(days) AS days, sum(base_kwh) AS base_kwh,
                  sum(base_days) AS base_days, count(*) AS meters
           FROM days WHERE transformer_id IS NOT NULL GROUP BY 1) t
  ON t.transformer_id = d.transformer_id
"""

# Only the consumers that may have a reason come back (at 35,000 meters, scoring every one in
# Python was a quarter of the page's time): a looser form of each rule below, which decides; the
# transformers' totals (the peers) are taken over every consumer first. A lossy transformer only
# weighs on other evidence, so it names no candidate.
_CANDIDATES_SQL = f"""
SELECT * FROM ({_FIGURES_SQL}) f
WHERE tamper > 0 OR resets > 0 OR zero_volt_days >= %(zero_days)s
   OR (relay_state = %(disconnected)s AND kwh > 0)
   OR (sanctioned_load_kw > 0 AND max_kw >= sanctioned_load_kw * %(mdi_pct)s / 100)
   OR (days > 0 AND base_days > 0 AND base_kwh > 0
       AND kwh * base_days <= base_kwh * days * %(drop_loose)s)
"""


def _ratio(kwh: Decimal, days: int, base_kwh: Decimal, base_days: int) -> Decimal | None:
    if not days or not base_days or base_kwh <= 0:
        return None
    return (kwh / days) / (base_kwh / base_days)


def suspects_rank(*, start: dt.date, end: dt.date, top: int | None = None) -> list[Suspect]:
    """Consumers with at least one reason, highest score first (then device id)."""
    base_start = start - dt.timedelta(days=settings.ANALYTICS_BASELINE_DAYS)
    params = {
        "start": start,
        "end": end,
        "base_start": base_start,
        "volts": settings.ANALYTICS_VOLTAGE_PRESENT_V,
        "tamper": list(settings.ANALYTICS_TAMPER_CODES),
        "outage": list(settings.ANALYTICS_OUTAGE_CODES),
        "reset": settings.ANALYTICS_MDI_RESET_CODE,
    }
    drop_below = 1 - Decimal(settings.ANALYTICS_DROP_PERCENT) / 100
    params |= {
        "zero_days": settings.ANALYTICS_ZERO_DAYS,
        "disconnected": RelayState.DISCONNECTED,
        "mdi_pct": settings.ANALYTICS_MDI_OVER_PERCENT,
        "drop_loose": drop_below + Decimal("0.0001"),
    }
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, params)
        rows = cursor.fetchall()
    lossy = {
        b.node_id: b.loss_pct
        for b in energy_balance(level=NodeLevel.TRANSFORMER, start=start, end=end)
        if b.loss_pct is not None and b.loss_pct > settings.ANALYTICS_TRANSFORMER_LOSS_PERCENT
    }
    peers_above = 1 - Decimal(settings.ANALYTICS_PEER_DROP_PERCENT) / 100
    out = []
    for (gid, meter_id, tid, ref, kwh, days, base_kwh, base_days, zero_days, max_kw,
         tamper, codes, outages, resets, relay, sanctioned, *t) in rows:  # fmt: skip
        s = Suspect(gid, meter_id, tid, ref)
        if tamper:
            listed = ", ".join(str(c) for c in sorted(codes or []))
            s.add(SuspectReason.TAMPER, f"{tamper} tamper events (codes {listed})")
        if resets:
            s.add(SuspectReason.MDI_RESET, f"{resets} MDI resets off the reset date")
        own = _ratio(kwh, days, base_kwh, base_days)
        if own is not None and own <= drop_below and not outages:
            # peers: the transformer's totals without this consumer's own share
            peers = None
            if tid is not None and t[4] > 1:
                peers = _ratio(t[0] - kwh, t[1] - days, t[2] - base_kwh, t[3] - base_days)
            if peers is None or peers >= peers_above:
                peer_text = "no peers" if peers is None else f"peers at {peers:.0%}"
                s.add(
                    SuspectReason.DROP,
                    f"daily use at {own:.0%} of its last {settings.ANALYTICS_BASELINE_DAYS}"
                    f" days ({peer_text}), no outage",
                )
        if zero_days >= settings.ANALYTICS_ZERO_DAYS:
            s.add(SuspectReason.ZERO_WITH_VOLTAGE, f"{zero_days} days of zero kWh with voltage")
        if relay == RelayState.DISCONNECTED and kwh > 0:
            s.add(SuspectReason.RELAY_OPEN_USAGE, f"{kwh} kWh while the relay is open")
        limit = (
            sanctioned * settings.ANALYTICS_MDI_OVER_PERCENT / 100 if sanctioned else None
        )
        if limit is not None and max_kw is not None and max_kw > limit:
            s.add(
                SuspectReason.MDI_OVER_SANCTIONED,
                f"demand {max_kw} kW over sanctioned {sanctioned} kW",
            )
        if s.reasons and tid in lossy:
            # only as a weight on other evidence: a lossy transformer alone names no one
            s.add(SuspectReason.TRANSFORMER_LOSS, f"its transformer loses {lossy[tid]} %")
        if s.reasons:
            out.append(s)
    out.sort(key=lambda s: (-s.score, s.global_device_id))
    return out[:top] if top else out
