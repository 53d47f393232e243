"""Anomalies planted in a simulated MDC's load profile, with their ground truth.

A plan per simulated MDC says how often each kind occurs per meter-day inside a window: the
MDC's own ``SimMdc.anomaly_plan`` when it has one, else its entry in
``settings.SIMULATOR_ANOMALIES`` (``{"<sim MDC code>": {...}}``, from the environment: the
default plan). Keys are the :class:`AnomalyPlan` fields; the short form ``{"spike": 0.01,
"clock_drift": 0.02}`` names the rate per meter-day of each kind, and ``start``/``end`` may be
left out (always). Which meter-days get which anomaly, where, and how big,
is deterministic from (meter seed, day), like the rest of the generator, so a benchmark can ask
:func:`ground_truth` for exactly what was planted.

Kinds (at most one of each per meter-day, apart from each other and from the day's ends):

- ``gap``: 1..``gap_max_intervals`` consecutive rows never arrive (their energy still flows
  through the registers, so the first row after them carries it);
- ``spike``: one interval uses ``spike_factor`` x the day's 3rd-highest interval energy more
  (at least 1 kWh): a real burst, kept by the registers from then on;
- ``rollback``: the total register reads ``rollback_kwh`` below the reading before it and counts
  on from there (a register fault); an interval-kind MDC sends a negative interval instead;
- ``zero``: ``zero_intervals`` consecutive intervals record no energy while the supply (and so
  the voltage) is on: the register stands still (theft or a stuck register). Never planted over
  an outage of the generator (that would not be "with voltage");
- ``stuck``: the register stands still for ``stuck_intervals`` (a meter fault: the energy is not
  recorded, as ``zero`` but longer), found by the zero-with-voltage rule;
- ``clock``: from one interval to the end of the day the meter's clock runs ``clock_minutes``
  ahead: each row is stamped that much later than the MDC read it (``mdc_read_datetime``);
- ``relay_open``: a share ``relay_open_meters`` of the meters has its relay open (the MDM
  records a disconnection) while the consumer keeps using energy (the relay bypassed): every
  day with usage is ground truth (:func:`relay_open`).

Only ``active_energy_tl`` and ``active_energy_t1`` are changed, so T1+T2+T3+T4 still equals
the total. :func:`plant` is the one call the generator makes; with no plan it returns the rows
untouched.
"""

from __future__ import annotations

import calendar
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from random import Random

from django.conf import settings

from apps.udil.timefmt import PKT

DAY = 86400
PKT_OFFSET = 5 * 3600
TICK = 900
#: Intervals kept free between planted anomalies and from the day's ends.
MARGIN = 3


@dataclass(frozen=True)
class AnomalyPlan:
    start: int  # epoch: anomalies are planted in days starting at or after this
    end: int  # ... and before this
    gap_per_day: float = 0.0
    gap_max_intervals: int = 8
    spike_per_day: float = 0.0
    spike_factor: float = 5.0
    rollback_per_day: float = 0.0
    rollback_kwh: float = 5.0
    zero_per_day: float = 0.0
    zero_intervals: int = 12
    stuck_per_day: float = 0.0
    stuck_intervals: int = 24
    clock_per_day: float = 0.0
    clock_minutes: int = 30
    relay_open_meters: float = 0.0

    @classmethod
    def from_dict(cls, raw: dict) -> AnomalyPlan:
        values = {SHORT_NAMES.get(name, name): value for name, value in dict(raw).items()}
        for name, default in (("start", ALWAYS[0]), ("end", ALWAYS[1])):
            if values.get(name) in (None, ""):
                values[name] = default
                continue
            moment = datetime.fromisoformat(str(values[name]))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=PKT)
            values[name] = int(moment.timestamp())
        return cls(**values)


#: The short form of a plan: the rate per meter-day of each kind.
SHORT_NAMES = {
    "gap": "gap_per_day",
    "spike": "spike_per_day",
    "rollback": "rollback_per_day",
    "zero": "zero_per_day",
    "stuck": "stuck_per_day",
    "clock_drift": "clock_per_day",
    "relay_open": "relay_open_meters",
}
#: Start and end of a plan that gives neither (2000-01-01 .. 2100-01-01).
ALWAYS = (946_684_800, 4_102_444_800)


@dataclass
class DayPlan:
    """What is planted in one meter-day, by interval index (interval i ends at (i+1) x iv)."""

    energies: list[int]  # natural Wh of each interval
    gap: tuple[int, int] | None = None  # first missing index, how many
    spike: tuple[int, int] | None = None  # index, extra Wh
    rollback: tuple[int, int] | None = None  # index, Wh the register falls
    zero: tuple[int, int] | None = None  # first index, how many
    stuck: tuple[int, int] | None = None  # first index, how many
    clock: int | None = None  # index from which the clock is ahead
    offsets: list[int] = field(default_factory=list)  # register change from here (Wh)

    @property
    def total(self) -> int:
        return self.offsets[-1] if self.offsets else 0


_LOCK = threading.Lock()
_PLANS: dict[str, AnomalyPlan] = {}
_METERS: dict[int, str] = {}  # sim meter pk -> its sim MDC's code
_DAYS: dict[tuple, DayPlan] = {}
_CUMULATIVE: dict[tuple, int] = {}


_OWN: dict[int, AnomalyPlan | None] = {}  # sim meter pk -> its sim MDC's own plan


def plans() -> dict[str, AnomalyPlan]:
    """The default plans (``settings.SIMULATOR_ANOMALIES``) by sim MDC code."""
    configured = settings.SIMULATOR_ANOMALIES or {}
    if set(configured) != set(_PLANS):
        with _LOCK:
            _PLANS.clear()
            _PLANS.update({code: AnomalyPlan.from_dict(raw) for code, raw in configured.items()})
            _METERS.clear()
            _OWN.clear()
    return _PLANS


def plan_for(spec) -> AnomalyPlan | None:
    """The meter's MDC's own plan (``SimMdc.anomaly_plan``), else the default one for its code."""
    current = plans()
    if spec.pk not in _METERS:
        from apps.simulator.models import SimMeter

        # one query per meter and process (the generator itself never reads the database)
        code, own = (
            SimMeter.objects.filter(pk=spec.pk)
            .values_list("mdc__code", "mdc__anomaly_plan")
            .first()
        ) or ("", None)
        with _LOCK:
            _OWN[spec.pk] = AnomalyPlan.from_dict(own) if own else None
            _METERS[spec.pk] = code or ""
    return _OWN.get(spec.pk) or current.get(_METERS[spec.pk])


def clear_caches() -> None:
    with _LOCK:
        _PLANS.clear()
        _METERS.clear()
        _OWN.clear()
        _DAYS.clear()
        _CUMULATIVE.clear()


def _day_start(d: int) -> int:
    return d * DAY - PKT_OFFSET


def _place(rng: Random, m: int, length: int, taken: list[tuple[int, int]]) -> int | None:
    for _ in range(20):
        first = rng.randrange(MARGIN, m - length - MARGIN)
        span = (first - MARGIN, first + length + MARGIN)
        if all(span[1] <= a or b <= span[0] for a, b in taken):
            taken.append((first, first + length))
            return first
    return None


def day_plan(spec, plan: AnomalyPlan, d: int, iv: int) -> DayPlan:
    """What is planted in day ``d`` (days since the epoch, PKT) of this meter."""
    key = (spec.key, plan, d, iv)
    found = _DAYS.get(key)
    if found is not None:
        return found
    from apps.simulator import generator as gen

    per = iv * 60 // TICK
    data = gen.day_data(spec, d)
    ticks = data.e_imp
    m = len(ticks) // per
    energies = [sum(ticks[i * per : (i + 1) * per]) for i in range(m)]
    day = DayPlan(energies=energies)
    ds = _day_start(d)
    if plan.start <= ds and ds + DAY <= plan.end and ds >= spec.data_start:
        rng = Random(gen.mix(spec.seed, d, 0xA5E))
        taken: list[tuple[int, int]] = []
        if rng.random() < plan.zero_per_day:
            first = _place(rng, m, plan.zero_intervals, taken)
            supplied = first is not None and all(
                data.volt[k][0] > 0 and energies[k // per] > 0
                for k in range(first * per, (first + plan.zero_intervals) * per)
            )
            if supplied:  # "while the voltage is present": not planted over an outage
                day.zero = (first, plan.zero_intervals)
            elif first is not None:
                taken.pop()
        if rng.random() < plan.gap_per_day:
            length = rng.randint(1, plan.gap_max_intervals)
            first = _place(rng, m, length + 1, taken)  # the row after the gap stays clean
            if first is not None:
                day.gap = (first, length)
        if rng.random() < plan.spike_per_day:
            at = _place(rng, m, 1, taken)
            if at is not None:
                third = sorted(energies, reverse=True)[2]
                day.spike = (at, max(int(third * plan.spike_factor), 1000))
        if rng.random() < plan.rollback_per_day:
            at = _place(rng, m, 1, taken)
            if at is not None:
                # the register falls rollback_kwh below the previous reading, whatever the load
                day.rollback = (at, energies[at] + int(plan.rollback_kwh * 1000))
        # kinds added later draw after the first four, so those stay where they were
        if rng.random() < plan.stuck_per_day:
            first = _place(rng, m, plan.stuck_intervals, taken)
            supplied = first is not None and all(
                data.volt[k][0] > 0 and energies[k // per] > 0
                for k in range(first * per, (first + plan.stuck_intervals) * per)
            )
            if supplied:
                day.stuck = (first, plan.stuck_intervals)
            elif first is not None:
                taken.pop()
        if rng.random() < plan.clock_per_day:
            day.clock = _place(rng, m, 1, taken)
    offsets, offset = [], 0
    for i in range(m):
        if day.spike and i == day.spike[0]:
            offset += day.spike[1]
        if day.rollback and i == day.rollback[0]:
            offset -= day.rollback[1]
        if _standing(day, i):
            offset -= energies[i]
        offsets.append(offset)
    day.offsets = offsets
    with _LOCK:
        if len(_DAYS) > 200_000:
            _DAYS.clear()
        _DAYS[key] = day
    return day


def _standing(day: DayPlan, i: int) -> bool:
    """Whether the register stands still in interval ``i`` (a zero or stuck stretch)."""
    return any(spot and spot[0] <= i < spot[0] + spot[1] for spot in (day.zero, day.stuck))


def relay_open(spec, plan: AnomalyPlan) -> bool:
    """Whether this meter is one whose relay is open while it still uses energy."""
    from apps.simulator import generator as gen

    return Random(gen.mix(spec.seed, 0xE1A)).random() < plan.relay_open_meters


def _before_day(spec, plan: AnomalyPlan, d: int, iv: int) -> int:
    """Register change (Wh) planted in the days before ``d``."""
    first = (plan.start + PKT_OFFSET) // DAY
    d = min(d, (plan.end + PKT_OFFSET) // DAY + 1)  # nothing is planted after the plan
    if d <= first:
        return 0
    key = (spec.key, plan, d, iv)
    found = _CUMULATIVE.get(key)
    if found is None:
        found = _before_day(spec, plan, d - 1, iv) + day_plan(spec, plan, d - 1, iv).total
        with _LOCK:
            _CUMULATIVE[key] = found
    return found


def _text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, PKT).strftime("%Y-%m-%d %H:%M:%S")


def _epoch(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S")) - PKT_OFFSET


def _wh(text: str) -> int:
    return round(float(text) * 1000)


def _kwh(wh: int) -> str:
    sign = "-" if wh < 0 else ""
    wh = abs(wh)
    return f"{sign}{wh // 1000}.{wh % 1000:03d}"


_INDEX: dict[str, int] = {}


def _index(name: str) -> int:
    if not _INDEX:
        from apps.simulator.generator import FIELDS

        _INDEX.update({n: i for i, n in enumerate(FIELDS["load_profile"])})
    return _INDEX[name]


def plant(spec, rows, record: list | None = None):
    """The generator's load-profile rows with the MDC's planned anomalies (``rows`` itself
    when it has none). ``record``, when given, receives the ground truth of what was planted
    among these rows (see :func:`ground_truth`)."""
    plan = plan_for(spec)
    if plan is None:
        return rows
    return _planted(spec, plan, rows, record)


def _planted(spec, plan: AnomalyPlan, rows, record: list | None):
    i_at, i_iv = _index("meter_datetime"), _index("interval")
    i_tl, i_t1 = _index("active_energy_tl"), _index("active_energy_t1")
    i_read = _index("mdc_read_datetime")
    registers = spec.lp_registers
    gid = spec.gdi
    pending: dict | None = None  # a gap waiting for the row after it
    for row in rows:
        te = _epoch(row[i_at])
        iv = int(row[i_iv])
        if te < plan.start or (iv * 60) % TICK:
            yield row
            continue
        n = (te + PKT_OFFSET) // (iv * 60)  # intervals since the epoch; this one ends at n
        d, i = divmod(n - 1, DAY // (iv * 60))
        day = day_plan(spec, plan, d, iv)
        if day.gap and day.gap[0] <= i < day.gap[0] + day.gap[1]:
            if record is not None:
                if pending is None or pending["day"] != d:
                    pending = {
                        "kind": "gap", "gid": gid, "day": d, "first": row[i_at],
                        "intervals": [], "before_wh": day.energies[day.gap[0] - 1],
                        "registers": registers,
                    }  # fmt: skip
                pending["last"] = row[i_at]
                pending["intervals"].append((row[i_at], day.energies[i]))
            continue
        if pending is not None and record is not None:
            if registers:  # the row after the gap: its own interval is unknown too
                pending["intervals"].append((row[i_at], day.energies[i]))
            record.append(pending)
            pending = None
        offset = _before_day(spec, plan, d, iv) + day.offsets[i]
        if registers:
            if offset:
                row = list(row)
                row[i_tl] = _kwh(_wh(row[i_tl]) + offset)
                row[i_t1] = _kwh(_wh(row[i_t1]) + offset)
                row = tuple(row)
        else:
            delta = 0
            if day.spike and i == day.spike[0]:
                delta = day.spike[1]
            if day.rollback and i == day.rollback[0]:
                delta = -int(plan.rollback_kwh * 1000) - _wh(row[i_tl])
            if _standing(day, i):
                delta = -_wh(row[i_tl])
            if delta:
                row = list(row)
                row[i_tl] = _kwh(_wh(row[i_tl]) + delta)
                row[i_t1] = _kwh(_wh(row[i_t1]) + delta)
                row = tuple(row)
        if day.clock is not None and i >= day.clock:
            # the meter is ahead: it stamped the row clock_minutes after the MDC read it
            row = list(row)
            row[i_read] = _text(te - plan.clock_minutes * 60 + 60)
            row = tuple(row)
        if record is not None:
            if day.clock is not None and i == day.clock:
                last = _text(_day_start(d) + DAY)
                record.append({"kind": "clock", "gid": gid, "first": row[i_at], "last": last})
            if day.stuck and i == day.stuck[0]:
                last = _text(_day_start(d) + (day.stuck[0] + day.stuck[1]) * iv * 60)
                record.append({"kind": "stuck", "gid": gid, "first": row[i_at], "last": last})
            for kind, spot in (("spike", day.spike), ("rollback", day.rollback)):
                if spot and i == spot[0]:
                    record.append({"kind": kind, "gid": gid, "first": row[i_at], "last": row[i_at]})
            if day.zero and i == day.zero[0]:
                last = _day_start(d) + (day.zero[0] + day.zero[1]) * iv * 60
                record.append({"kind": "zero", "gid": gid, "first": row[i_at], "last": _text(last)})
        yield row
    if pending is not None and record is not None:
        record.append(pending)


def ground_truth(spec, start: int, end: int, now: int) -> list[dict]:
    """What :func:`plant` plants in this meter's load profile of ``start..end`` (epochs):
    one dict per anomaly with its kind, device, first and last row time (wire text) and, for
    gaps, the true energy (Wh) of each interval left unknown and of the interval before."""
    from apps.simulator import generator as gen

    plan = plan_for(spec)
    if plan is None:
        return []
    record: list[dict] = []
    for _row in _planted(spec, plan, gen._load_profile_rows(spec, start, end, now), record):
        pass
    if relay_open(spec, plan):
        # every day of the range with usage, by its first interval (15 minutes) that has some
        for d in range((start + PKT_OFFSET) // DAY, (end + PKT_OFFSET - 1) // DAY + 1):
            if _day_start(d) < max(start, spec.data_start):
                continue
            energies = day_plan(spec, plan, d, 15).energies
            used = [i for i, wh in enumerate(energies) if wh > 10]
            if used:
                first = _day_start(d) + (used[0] + 1) * TICK
                last = _day_start(d) + DAY
                record.append(
                    {"kind": "relay_open", "gid": spec.gdi, "first": _text(first),
                     "last": _text(last)}
                )  # fmt: skip
    return record
