"""The demo: simulated vendor MDCs registered in the MDM like real ones, with a network
hierarchy, meters and pull schedules, so a fresh portal shows live data within minutes.

It lives with the runtime (``mdm up`` loads it once, through ``manage.py demo_load``): it uses
every app, so no app holds it. Three web-service MDCs (two UDIL 2019, JSON and XML, and one UDIL
3.3) and one that delivers flat files into a directory under ``MDM_DATA_DIR`` (the simulator
writes its CSV files, beat loads them; ``apps.ingestion.transports.FileTransport``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from apps.registry.choices import LpEnergyKind
from apps.registry.models import Mdc
from apps.registry.services import (
    consumer_create,
    hierarchy_path_ensure,
    mdc_register,
    meter_register,
)
from apps.simulator.files import sim_files_deliver
from apps.simulator.models import SimMdc, SimMeter
from apps.simulator.services import sim_mdc_create


@dataclass(frozen=True)
class DemoVendor:
    code: str
    name: str
    vendor: str
    fmt: str
    credentials_in: str
    seed: int
    # What its load profile energy fields carry; the registry MDC is set to match.
    lp_energy: str = LpEnergyKind.REGISTER
    transport: str = "api"
    udil_profile: str = "2019"


DEMO_VENDORS = (
    DemoVendor("demo_alpha", "Alpha head end (JSON)", "Alpha Meters", "json", "headers", 11),
    DemoVendor(
        "demo_beta",
        "Beta head end (XML)",
        "Beta Electric",
        "xml",
        "form",
        22,
        lp_energy=LpEnergyKind.INTERVAL,  # a vendor sending per-interval kWh
    ),
    DemoVendor(
        "demo_gamma",
        "Gamma head end (UDIL 3.3)",
        "Gamma Smart",
        "json",
        "headers",
        44,
        udil_profile="3.3",  # the 2025 revision beside the two 2019 head ends
    ),
    DemoVendor(
        "demo_files",
        "Delta head end (flat files)",
        "Delta Metering",
        "json",
        "headers",
        33,
        transport="file",  # CSV deliveries into its directory
    ),
)

FEEDERS = ("FDR-01", "FDR-02", "FDR-03")
TRANSFORMERS_PER_FEEDER = 2


def demo_is_loaded() -> bool:
    return Mdc.objects.filter(code__in=[vendor.code for vendor in DEMO_VENDORS]).exists()


def _transformers(actor) -> list:
    return [
        hierarchy_path_ensure(
            actor=actor,
            disco="MEPCO",
            circle="MULTAN",
            division="MULTAN-CANTT",
            subdivision="GULGASHT",
            feeder=feeder,
            transformer=f"{feeder}-T{number}",
        )
        for feeder in FEEDERS
        for number in range(1, TRANSFORMERS_PER_FEEDER + 1)
    ]


def delivery_directory(vendor: DemoVendor) -> Path:
    """Where the demo's flat-file MDC delivers (under ``MDM_DATA_DIR``)."""
    return Path(settings.DATA_DIR) / "deliveries" / vendor.code


def _register_mdc(*, actor, vendor: DemoVendor, sim_mdc: SimMdc, base_url: str) -> Mdc:
    if vendor.transport == "file":
        return mdc_register(
            actor=actor,
            code=vendor.code,
            name=vendor.name,
            vendor=vendor.vendor,
            transport="file",
            file_directory=sim_mdc.file_directory,
            lp_energy_kind=vendor.lp_energy,
        )
    return mdc_register(
        actor=actor,
        code=vendor.code,
        name=vendor.name,
        vendor=vendor.vendor,
        base_url=f"{base_url.rstrip('/')}/sim/{sim_mdc.code}/",
        data_format=vendor.fmt,
        credentials_in=vendor.credentials_in,
        username=sim_mdc.username,
        password=sim_mdc.password,
        auth_code=sim_mdc.auth_code,
        lp_energy_kind=vendor.lp_energy,
        udil_profile=vendor.udil_profile,
    )


def _register_meters(*, actor, mdc: Mdc, sim_meters: list[SimMeter], transformers: list) -> None:
    for index, sim_meter in enumerate(sim_meters):
        consumer = consumer_create(
            actor=actor,
            reference_no=f"{mdc.code[-4:].upper()}{sim_meter.msn % 10**8:08d}",
            name=f"Consumer {index + 1} of {mdc.name}",
        )
        meter_register(
            actor=actor,
            msn=sim_meter.msn,
            mdc=mdc,
            global_device_id=sim_meter.global_device_id,
            device_type=sim_meter.device_type,
            phase=sim_meter.phase,
            meter_type=sim_meter.meter_type,
            communication_mode=sim_meter.communication_mode,
            communication_type=sim_meter.communication_type,
            communication_interval=sim_meter.communication_interval,
            sim_number=sim_meter.sim_number,
            sim_id=sim_meter.sim_id,
            mdi_reset_date=sim_meter.mdi_reset_date,
            mdi_reset_time=sim_meter.mdi_reset_time,
            activation_status=sim_meter.activation_status,
            profile_hint=sim_meter.profile,
            transformer=transformers[index % len(transformers)],
            consumer=consumer,
        )


@transaction.atomic
def demo_load(*, actor=None, base_url: str, meters_per_mdc: int = 40, days: int = 14) -> list[Mdc]:
    """Create the demo once: simulated MDCs served by this portal at ``base_url``/sim/, and
    the same MDCs and meters registered in the registry. Returns the registered MDCs (empty
    when the demo was already loaded)."""
    if demo_is_loaded():
        return []
    transformers = _transformers(actor)
    registered = []
    for vendor in DEMO_VENDORS:
        extra = {"udil_profile": vendor.udil_profile}
        if vendor.transport == "file":
            extra["transport"] = "file"
            extra["file_directory"] = str(delivery_directory(vendor))
        sim_mdc, sim_meters = sim_mdc_create(
            code=vendor.code,
            fmt=vendor.fmt,
            meters=meters_per_mdc,
            days=days,
            seed=vendor.seed,
            lp_energy_mode=vendor.lp_energy,
            **extra,
        )
        mdc = _register_mdc(actor=actor, vendor=vendor, sim_mdc=sim_mdc, base_url=base_url)
        _register_meters(actor=actor, mdc=mdc, sim_meters=sim_meters, transformers=transformers)
        if vendor.transport == "file":
            # its history as the first deliveries (written when the transaction commits)
            transaction.on_commit(lambda sim=sim_mdc: sim_files_deliver(mdc=sim))
        registered.append(mdc)
    return registered
