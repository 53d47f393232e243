"""The meter spec: what the generator needs of one meter (settings and their history)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from random import Random

import orjson

from apps.simulator.generator.base import DEFAULT_TOU, TICK, _hms_to_sec, day_start, epoch_of, mix


@dataclass(eq=False)
class MeterSpec:
    """What the generator needs of one meter. Hash and equality use ``key`` only, so a spec
    can key caches; ``key`` changes when the meter's settings or history change."""

    key: tuple
    pk: int
    gdi: str
    msn: int
    seed: int
    profile: str
    phase: int
    base_w: int
    pf_milli: int
    data_start: int
    initial_wh: int
    tamper: str
    tamper_start: int | None
    reset_day: int
    reset_secs: int
    offline_rate: float
    gap_rate: float
    has_relay: bool
    #: load profile energy fields carry registers (else the energy of each interval)
    lp_registers: bool = True
    #: the SIM ID of the meter's modem (3.3 communication history and visuals)
    sim_id: str = ""
    timelines: dict[str, tuple[list[int], list]] = field(default_factory=dict)
    # precomputed
    msn_text: str = ""
    shares: tuple[int, int, int] = (1000, 0, 0)
    signal_base: int = -75
    v_offsets: tuple[int, int, int] = (0, 0, 0)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MeterSpec) and other.key == self.key

    def at(self, name: str, t: int):
        """Value of a setting in force at epoch ``t`` (None if never set)."""
        epochs, values = self.timelines.get(name, ((), ()))
        i = bisect_right(epochs, t)
        if i:
            return values[i - 1]
        return values[0] if values else None  # before the first entry: the initial setting

    def changes(self, name: str, a: int, b: int) -> list[tuple[int, object]]:
        """``[(epoch, value)]`` changes of a setting with a < epoch < b."""
        epochs, values = self.timelines.get(name, ((), ()))
        i = bisect_right(epochs, a)
        out = []
        while i < len(epochs) and epochs[i] < b:
            out.append((epochs[i], values[i]))
            i += 1
        return out

    def segments(self, name: str, a: int, b: int) -> list[tuple[int, int, object]]:
        """``[(start, end, value)]`` covering [a, b)."""
        out, start, value = [], a, self.at(name, a)
        for t, v in self.changes(name, a, b):
            out.append((start, t, value))
            start, value = t, v
        out.append((start, b, value))
        return out


def initial_history(
    *, data_start: int, lp_interval: int, clock_offset: int, active: int = 1
) -> list[list]:
    """The history a new meter starts with (effective at ``data_start``)."""
    return [
        [data_start, "relay", 1],
        [data_start, "active", active],
        [data_start, "lp", [lp_interval, 0]],
        [data_start, "inst", 15],
        [data_start, "bill", 1440],
        [data_start, "tou", DEFAULT_TOU],
        [data_start, "clock", clock_offset],
        [data_start, "load_limit", None],
        [data_start, "ls", None],
    ]


def _freeze(name: str, value):
    if name == "tou":
        return orjson.dumps(value or DEFAULT_TOU, option=orjson.OPT_SORT_KEYS).decode()
    if name == "ls":
        if not value:
            return None
        slabs = tuple(sorted((_hms_to_sec(s), int(r)) for s, r in value["slabs"]))
        return (int(value["start"]), int(value["end"]), slabs)
    if name == "lp":
        return (int(value[0]), int(value[1]))
    if name == "load_limit":
        return None if value in (None, "") else round(float(value) * 1000)
    return value


def spec_of(meter, mdc) -> MeterSpec:
    """A :class:`MeterSpec` of a SimMeter (``mdc`` given to avoid a query)."""
    timelines: dict[str, tuple[list[int], list]] = {}
    for epoch, name, value in sorted(meter.history, key=lambda h: h[0]):
        epochs, values = timelines.setdefault(name, ([], []))
        epochs.append(int(epoch))
        values.append(_freeze(name, value))
    data_start = epoch_of(meter.data_start)
    tamper_start = epoch_of(meter.tamper_start) if meter.tamper_start else None
    reset_secs = (meter.mdi_reset_time.hour * 3600 + meter.mdi_reset_time.minute * 60) // TICK
    rng = Random(mix(meter.seed, 7))
    if meter.phase == 3:
        a, b = 330 + rng.randrange(40), 300 + rng.randrange(40)
        shares = (a, b, 1000 - a - b)
    else:
        shares = (1000, 0, 0)
    return MeterSpec(
        key=(
            meter.pk,
            meter.version,
            data_start,
            meter.seed,
            mdc.offline_rate,
            mdc.gap_rate,
            mdc.lp_energy_mode,
        ),
        pk=meter.pk,
        gdi=meter.global_device_id,
        msn=meter.msn,
        seed=meter.seed,
        profile=meter.profile,
        phase=meter.phase,
        base_w=meter.base_load_w,
        pf_milli=int(meter.power_factor * 1000),
        data_start=data_start,
        initial_wh=int(meter.initial_kwh * 1000),
        tamper=meter.tamper,
        tamper_start=tamper_start,
        reset_day=meter.mdi_reset_date,
        reset_secs=reset_secs * TICK,
        offline_rate=mdc.offline_rate,
        gap_rate=mdc.gap_rate,
        has_relay=meter.has_relay,
        lp_registers=mdc.lp_energy_mode != "interval",
        sim_id=meter.sim_id,
        timelines=timelines,
        msn_text=str(meter.msn),
        shares=shares,
        signal_base=-60 - rng.randrange(45),
        v_offsets=(0, rng.randrange(-3000, 3000), rng.randrange(-3000, 3000)),
    )


# ------------------------------------------------------------------ one day of ticks
class Day:
    """The 96 ticks of one meter-day (lists indexed by tick) and its events."""

    __slots__ = (
        "agg",
        "d",
        "e_exp",
        "e_imp",
        "events",
        "offline",
        "p_true",
        "pf",
        "q_exp",
        "q_imp",
        "start",
        "tar",
        "volt",
    )

    def __init__(self, d: int):
        self.d = d
        self.start = day_start(d)
