"""The grid behind a simulated MDC: planted thieves and a feeder meter (energy accounting's
ground truth).

``settings.SIMULATOR_GRID`` is ``{"<sim MDC code>": {"start": iso, "thief_share": 0.1,
"metered_share": 0.3, "technical_loss": 0.05, "feeder_meter": "<gid>", "seed": 1}}``. From
``start`` on, a ``thief_share`` of the MDC's meters (chosen by seed and serial number) are
bypassed: their load profile meters ``metered_share`` of what they use. The ``feeder_meter``
reads the true use of all the MDC's other meters plus ``technical_loss``: so its energy minus
the consumers' metered energy is technical loss plus stolen energy, which :func:`truth` gives.
Load profile only (registers and interval kinds alike); billing registers are left as they are.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from apps.simulator.anomalies import _epoch, _index, _kwh, _wh
from apps.udil.timefmt import PKT

_ENERGY = ("active_energy_tl", "active_energy_t1", "active_energy_t2", "active_energy_t3",
           "active_energy_t4")  # fmt: skip


@dataclass(frozen=True)
class GridPlan:
    code: str
    start: int
    feeder_meter: str
    thief_share: float = 0.1
    metered_share: float = 0.3
    technical_loss: float = 0.05
    seed: int = 1

    @classmethod
    def from_dict(cls, code: str, raw: dict) -> GridPlan:
        values = dict(raw)
        moment = datetime.fromisoformat(str(values.pop("start")))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=PKT)
        return cls(code=code, start=int(moment.timestamp()), **values)

    def is_thief(self, spec) -> bool:
        if spec.gdi == self.feeder_meter:
            return False
        return (spec.msn * 2654435761 + self.seed * 40503) % 10_000 < self.thief_share * 10_000


_LOCK = threading.Lock()
_CACHE: dict = {}


def _plans() -> dict[str, GridPlan]:
    configured = settings.SIMULATOR_GRID or {}
    key = repr(sorted(configured.items()))
    with _LOCK:
        if _CACHE.get("key") != key:
            _CACHE.clear()
            _CACHE["key"] = key
            _CACHE["plans"] = {c: GridPlan.from_dict(c, raw) for c, raw in configured.items()}
    return _CACHE["plans"]


def _code_of(spec) -> str:
    codes = _CACHE.setdefault("codes", {})
    if spec.pk not in codes:
        from apps.simulator.models import SimMeter

        # one query per meter and process (the generator itself never reads the database)
        codes[spec.pk] = (
            SimMeter.objects.filter(pk=spec.pk).values_list("mdc__code", flat=True).first() or ""
        )
    return codes[spec.pk]


def plan_for(spec) -> GridPlan | None:
    plans = _plans()
    return plans.get(_code_of(spec)) if plans else None


def _consumers(plan: GridPlan) -> list:
    """Specs of the MDC's meters other than the feeder meter (cached per process)."""
    key = ("consumers", plan.code)
    if key not in _CACHE:
        from apps.simulator import generator as gen
        from apps.simulator.models import SimMdc

        mdc = SimMdc.objects.get(code=plan.code)
        _CACHE[key] = [
            gen.spec_of(m, mdc) for m in mdc.meters.exclude(global_device_id=plan.feeder_meter)
        ]
    return _CACHE[key]


def _true_row(spec, te: int, now: int):
    from apps.simulator import generator as gen

    for row in gen._load_profile_rows(spec, te, te, now):
        if _epoch(row[_index("meter_datetime")]) == te:
            return row
    return None


def apply(spec, rows, now: int):
    """The generator's load-profile rows of ``spec`` as the grid plan makes them."""
    plan = plan_for(spec)
    if plan is None:
        return rows
    if spec.gdi == plan.feeder_meter:
        return _feeder_rows(plan, rows, now)
    if plan.is_thief(spec):
        return _thief_rows(plan, spec, rows, now)
    return rows


def _thief_rows(plan: GridPlan, spec, rows, now: int):
    indexes = [_index(name) for name in _ENERGY]
    i_at = _index("meter_datetime")
    base = None
    for row in rows:
        te = _epoch(row[i_at])
        if te <= plan.start:
            yield row
            continue
        row = list(row)
        if spec.lp_registers:
            if base is None:  # the registers at the theft's start: metered from there on
                start_row = _true_row(spec, plan.start, now)
                base = [_wh(start_row[i]) if start_row[i] else 0 for i in indexes]
            for i, b in zip(indexes, base, strict=True):
                if row[i]:
                    row[i] = _kwh(b + round((_wh(row[i]) - b) * plan.metered_share))
        else:
            for i in indexes:
                if row[i]:
                    row[i] = _kwh(round(_wh(row[i]) * plan.metered_share))
        yield tuple(row)


def _feeder_rows(plan: GridPlan, rows, now: int):
    indexes = [_index(name) for name in _ENERGY]
    i_at = _index("meter_datetime")
    gain = 1 + plan.technical_loss
    for row in rows:
        te = _epoch(row[i_at])
        sums = [0] * len(indexes)
        for consumer in _consumers(plan):
            true = _true_row(consumer, te, now)
            if true is None:
                continue
            for n, i in enumerate(indexes):
                sums[n] += _wh(true[i]) if true[i] else 0
        row = list(row)
        for n, i in enumerate(indexes):
            row[i] = _kwh(round(sums[n] * gain))
        yield tuple(row)


def truth(code: str, start: int, end: int, now: int) -> dict:
    """Ground truth of ``start < t <= end``: the thieves, their stolen kWh, the consumers'
    true and metered kWh and the feeder meter's input kWh (register differences)."""
    from apps.simulator import generator as gen

    plan = _plans()[code]
    i_tl = _index("active_energy_tl")
    thieves, stolen, used, metered = [], Decimal(0), Decimal(0), Decimal(0)

    def energy(spec, rows_of) -> Decimal:
        rows = list(rows_of(spec, start, end, now))
        values = [Decimal(r[i_tl]) for r in rows if _epoch(r[_index("meter_datetime")]) > start]
        if spec.lp_registers:
            first = [Decimal(r[i_tl]) for r in rows if _epoch(r[_index("meter_datetime")]) == start]
            return values[-1] - first[0] if values and first else Decimal(0)
        return sum(values, Decimal(0))

    for spec in _consumers(plan):
        true = energy(spec, gen._load_profile_rows)
        shown = energy(spec, gen.load_profile_rows)
        used += true
        metered += shown
        if plan.is_thief(spec):
            thieves.append(spec.gdi)
            stolen += true - shown
    return {
        "thieves": sorted(thieves),
        "stolen_kwh": stolen,
        "true_kwh": used,
        "metered_kwh": metered,
        "input_kwh": used * Decimal(str(1 + plan.technical_loss)),
    }


def clear_caches() -> None:
    with _LOCK:
        _CACHE.clear()
