"""A hand-made fleet for analytics tests: one subdivision, one feeder with two transformers,
a register MDC and an interval MDC, consumers on both, input meters on the feeder and on the
first transformer. Load-profile rows go through the warehouse loader (as a pull stores them);
hourly kWh follow a pattern the tests sum by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from apps.registry.tests.factories import (
    ConsumerFactory,
    FeederFactory,
    MdcFactory,
    MeterFactory,
    TransformerFactory,
)
from apps.warehouse.partitions import PKT
from apps.warehouse.services import rows_load

D = Decimal


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=PKT) + dt.timedelta(hours=hour)


def text(when: dt.datetime) -> str:
    return when.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")


def pattern(base: str, hour: int) -> Decimal:
    """kWh of the hour closing at ``hour`` (1..24) of a meter with this base."""
    return D(base) + D("0.25") * (hour % 5)


@dataclass
class Fleet:
    prefix: str
    register_mdc: object = None
    interval_mdc: object = None
    feeder: object = None
    t1: object = None
    t2: object = None
    meters: dict = field(default_factory=dict)  # gid -> registry Meter
    kind: dict = field(default_factory=dict)  # gid -> "register" | "interval"
    registers: dict = field(default_factory=dict)  # gid -> running register (register kind)

    def gid(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def add(self, name: str, *, mdc, transformer, sanctioned="5", msn: int) -> object:
        gid = self.gid(name)
        meter = MeterFactory(
            global_device_id=gid,
            msn=msn,
            mdc=mdc,
            transformer=transformer,
            consumer=ConsumerFactory(reference_no=f"{gid}-ref", sanctioned_load_kw=D(sanctioned)),
        )
        self.meters[gid] = meter
        self.kind[gid] = mdc.lp_energy_kind
        self.registers[gid] = D("1000")
        return meter

    def rows(self, gid: str, day: dt.date, kwh_of_hour, hours=range(1, 25), volts="230"):
        """Wire rows of one meter for the readings closing ``hours`` of ``day`` (hour 0 of
        ``day`` is the baseline reading a register meter differences against)."""
        meter = self.meters[gid]
        out = []
        register = self.registers[gid]
        for hour in hours:
            kwh = kwh_of_hour(hour)
            register += kwh
            value = register if self.kind[gid] == "register" else kwh
            when = at(day, hour)
            out.append(
                {
                    "global_device_id": gid,
                    "msn": str(meter.msn),
                    "meter_datetime": text(when),
                    "channel_id": "0",
                    "interval": "60",
                    "active_energy_tl": f"{value:.3f}",
                    "reactive_energy_tl": "",
                    "voltage_phase_a": volts,
                    "mdc_read_datetime": text(when),
                    "db_datetime": text(when),
                }
            )
        self.registers[gid] = register
        return out

    def load(self, gid: str, rows) -> None:
        mdc = self.meters[gid].mdc
        result = rows_load(dataset_code="load_profile", mdc_id=mdc.pk, raw_rows=rows, source="t")
        assert result.quarantined == 0


def make_fleet(prefix: str) -> Fleet:
    """Consumers a1, a2 (register MDC) and b1 (interval MDC) on T1, b2 (interval) on T2;
    input meters fin (feeder) and tin1 (T1) on the register MDC (marked by the test)."""
    fleet = Fleet(prefix=prefix)
    fleet.register_mdc = MdcFactory(code=f"{prefix}-reg", lp_energy_kind="register")
    fleet.interval_mdc = MdcFactory(code=f"{prefix}-int", lp_energy_kind="interval")
    fleet.feeder = FeederFactory()
    fleet.t1 = TransformerFactory(feeder=fleet.feeder)
    fleet.t2 = TransformerFactory(feeder=fleet.feeder)
    base = 4_090_000_000 + sum(map(ord, prefix)) * 100
    for offset, (name, mdc, transformer) in enumerate(
        [
            ("a1", fleet.register_mdc, fleet.t1),
            ("a2", fleet.register_mdc, fleet.t1),
            ("b1", fleet.interval_mdc, fleet.t1),
            ("b2", fleet.interval_mdc, fleet.t2),
            ("fin", fleet.register_mdc, None),
            ("tin1", fleet.register_mdc, None),
        ]
    ):
        fleet.add(name, mdc=mdc, transformer=transformer, msn=base + offset)
    return fleet


BASES = {"a1": "1.5", "a2": "0.75", "b1": "2", "b2": "1.25"}
