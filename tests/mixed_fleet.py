"""A mixed UDIL fleet for the end-to-end tests of issue #14: three simulated MDCs served over
real HTTP (``live_server``) and registered like vendors' head ends, a 2019 JSON API MDC, a 2019
XML API MDC and a UDIL 3.3 API MDC, with consumers on transformers of two feeders; feeder F is
fed by meters of all three (both profiles), and its input meter is on the 2019 JSON MDC.

The simulator's clock is frozen at ``now``; data is pulled through the ingestion service
(``pull_run``) and rolled up by the analytics task, run in process as a worker would. The
helpers here read the warehouse by hand (plain SQL) so the tests compare the portal's figures
with sums and counts made without the app's own consumption code.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from django.db import connection

from apps.analytics.services.rollups import input_meter_assign
from apps.analytics.tasks import rollup_ingested
from apps.ingestion.choices import RunOutcome
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import registered_mdc
from apps.registry.models import Meter
from apps.registry.tests.factories import ConsumerFactory, FeederFactory, TransformerFactory
from apps.simulator.testing import freeze_clock, make_sim_mdc
from apps.udil.timefmt import PKT

WINDOWS = {
    "instantaneous": 360,
    "billing": 1440,
    "monthly_billing": 44640,
    "load_profile": 720,
    "events": 1440,
    "meter_visuals": 1440,
    "device_comm_history": 720,
}
#: (sim code, format, profile, meters, seed): the three head ends of the fleet.
MDCS = (
    ("mx19j", "json", "2019", 3, 41),
    ("mx19x", "xml", "2019", 2, 42),
    ("mx33", "json", "3.3", 3, 43),
)
#: The consumers' sanctioned load: above any demand of the simulated meters (which have no load
#: limit) and of a planted spike, so the demand rules of VEE have nothing to find.
SANCTIONED_KW = Decimal("500")
#: Where each meter sits, by (sim code, index): a transformer name, or "input" (feeder F's).
PLACES = {
    ("mx19j", 0): "input",
    ("mx19j", 1): "T1",
    ("mx33", 0): "T1",
    ("mx19x", 0): "T2",
    ("mx33", 1): "T2",
    ("mx19j", 2): "T3",
    ("mx19x", 1): "T3",
    ("mx33", 2): "T3",
}


@dataclass
class MixedFleet:
    now: dt.datetime
    until: dt.datetime
    sims: dict = field(default_factory=dict)  # sim code -> SimMdc
    sim_meters: dict = field(default_factory=dict)  # sim code -> [SimMeter]
    mdcs: dict = field(default_factory=dict)  # sim code -> registry Mdc
    feeder_f: object = None
    feeder_g: object = None
    transformers: dict = field(default_factory=dict)  # "T1".. -> Transformer
    runs: list = field(default_factory=list)  # IngestionRun

    def gids(self, code: str) -> list[str]:
        return [m.global_device_id for m in self.sim_meters[code]]

    @property
    def input_gid(self) -> str:
        return self.gids("mx19j")[0]

    def gids_on(self, *transformers: str) -> list[str]:
        return sorted(
            self.gids(code)[index]
            for (code, index), place in PLACES.items()
            if place in transformers
        )

    @property
    def all_gids(self) -> list[str]:
        return sorted(gid for code in self.sims for gid in self.gids(code))

    def pull(self, dataset: str, *, codes=None, until: dt.datetime | None = None) -> list:
        runs = []
        for code in codes or self.sims:
            sim, mdc = self.sims[code], self.mdcs[code]
            run = pull_run(
                mdc_id=mdc.pk, dataset_code=dataset, since=sim.history_start,
                until=until or self.until,
            )  # fmt: skip
            assert run.outcome == RunOutcome.SUCCEEDED, (code, dataset, run.error)
            assert run.rows_inserted > 0, (code, dataset)
            runs.append(run)
        self.runs += runs
        return runs

    def roll_up(self) -> None:
        """The analytics task of every load-profile and events run, as a worker runs it."""
        for run in self.runs:
            if run.dataset in ("load_profile", "events"):
                rollup_ingested.apply(args=[run.pk]).get()


def build(live_server, monkeypatch, *, now: dt.datetime, days: int = 3, **sim_settings):
    """The fleet registered and placed in the network (nothing pulled yet). ``sim_settings``
    by sim code: extra settings of that simulated MDC (an anomaly plan ...)."""
    freeze_clock(monkeypatch, now)
    fleet = MixedFleet(now=now, until=now - dt.timedelta(minutes=10))
    fleet.feeder_f = FeederFactory(code="F-MIXED")
    fleet.feeder_g = FeederFactory(code="G-MIXED", subdivision=fleet.feeder_f.subdivision)
    fleet.transformers = {
        "T1": TransformerFactory(code="T1-MIXED", feeder=fleet.feeder_f),
        "T2": TransformerFactory(code="T2-MIXED", feeder=fleet.feeder_f),
        "T3": TransformerFactory(code="T3-MIXED", feeder=fleet.feeder_g),
    }
    for code, fmt, profile, meters, seed in MDCS:
        sim, sim_meters = make_sim_mdc(
            code=code, meters=meters, days=days, seed=seed, now=now, fmt=fmt,
            udil_profile=profile, **sim_settings.get(code, {}),
        )  # fmt: skip
        mdc = registered_mdc(
            live_server, sim, sim_meters, udil_profile=profile, window_minutes=WINDOWS
        )
        fleet.sims[code], fleet.sim_meters[code], fleet.mdcs[code] = sim, sim_meters, mdc
    for (code, index), place in PLACES.items():
        meter = Meter.objects.get(global_device_id=fleet.gids(code)[index])
        if place == "input":
            input_meter_assign(actor=None, meter=meter, feeder=fleet.feeder_f)
            continue
        meter.transformer = fleet.transformers[place]
        meter.consumer = ConsumerFactory(sanctioned_load_kw=SANCTIONED_KW)
        meter.save(update_fields=["transformer", "consumer"])
    return fleet


def day_of(reading_at: dt.datetime) -> dt.date:
    """The Pakistan day a reading closes (a reading at 00:00 closes the day before)."""
    return (reading_at.astimezone(PKT) - dt.timedelta(microseconds=1)).date()


def lp_rows(gids) -> dict[str, list[tuple]]:
    """(meter_datetime, interval, active_energy_tl) of each meter's load profile, in time
    order, straight from the warehouse table."""
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT global_device_id, meter_datetime, "interval", active_energy_tl'
            " FROM warehouse_load_profile WHERE global_device_id = ANY(%s)"
            " ORDER BY global_device_id, meter_datetime",
            [list(gids)],
        )
        out: dict[str, list[tuple]] = defaultdict(list)
        for gid, at, interval, kwh in cursor.fetchall():
            out[gid].append((at, interval, kwh))
    return out


def hand_kwh_per_day(gids) -> dict[tuple[str, dt.date], Decimal]:
    """kWh per meter and Pakistan day: each register reading's rise over the reading before it
    (the first reading of a meter has none, so it adds nothing). Registers only: every MDC of
    the fleet sends cumulative registers, and the fleet has no register faults."""
    out: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    for gid, readings in lp_rows(gids).items():
        for (_, _, before), (at, _, kwh) in pairwise(readings):
            assert kwh >= before, (gid, at)
            out[(gid, day_of(at))] += kwh - before
    return dict(out)
