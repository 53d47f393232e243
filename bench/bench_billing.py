"""Billing benchmark: determinants of one cycle, set-based vs a per-consumer ORM loop, and the
exports of the locked run.

    MDM_DATA_DIR=/tmp/bench .venv/bin/python bench/bench_billing.py --consumers 100000
    MDM_DATA_DIR=/tmp/bench .venv/bin/python bench/bench_billing.py --consumers 1000000

In a database of its own (dropped at the end unless --keep-database):

1. N consumers, each with a billing account (batch 01, a TOU tariff for every other one), a
   meter (multiplying factor 2 for every tenth) on 50 feeders, and two monthly billing rows
   (the MDI resets of October and November 2026) written straight into the warehouse table;
2. the cycle's determinants with ``run_compute`` (the task's service: chunks of one
   INSERT ... SELECT each), timed; then the same determinants with a per-consumer ORM loop on
   a sample of consumers (the baseline), timed in the same run; the ratio per consumer;
3. the run approved, then exported as CSV and fixed-width (consumers/s), into a byte counter;
4. peak RSS (VmHWM) after each step, so runs of different N show whether memory grows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")

BENCH_DATABASE = "mdm_bench_billing"


def bench_database_url() -> tuple[str, str]:
    from mdm import embedded

    base = os.environ.get("DATABASE_URL")
    if not base:
        data_dir = Path(os.environ.get("MDM_DATA_DIR", ROOT / "var")).resolve()
        base = embedded.postgres_url(data_dir)
    parts = urlsplit(base)
    return base, urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def database_exec(admin_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def insert_generated(model, count: int, overrides: dict[str, str]) -> None:
    """INSERT ... SELECT FROM generate_series: every column of ``model`` from an unsaved
    instance's defaults, except ``overrides`` (SQL expressions of ``g``, 1..count)."""
    from django.db import connection

    template = model()
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in overrides:
            values.append(overrides[field.column])
            continue
        value = field.pre_save(template, add=True)
        values.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM generate_series(1, {count}) g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fleet_create(count: int):
    from django.db import connection

    from apps.billing.models import BillingAccount, ReadingCycle, Tariff, TariffBandMap
    from apps.registry.models import Consumer, Meter
    from apps.registry.tests.factories import MdcFactory, TransformerFactory
    from apps.warehouse.services import partitions_ensure

    pkt = dt.timezone(dt.timedelta(hours=5))
    mdc = MdcFactory(code="bench-mdc")
    transformers = [TransformerFactory().pk for _ in range(50)]
    tariff = Tariff.objects.create(code="A-1 TOU", name="TOU", category="A-1", time_of_use=True)
    TariffBandMap.objects.create(
        tariff=tariff, season="All year", start_month=1, end_month=12,
        valid_from=dt.date(2026, 1, 1), t1_band="off_peak", t2_band="peak",
    )  # fmt: skip
    insert_generated(Consumer, count, {"reference_no": "'01' || lpad(g::text, 11, '0')"})
    first_consumer = Consumer.objects.order_by("id").values_list("id", flat=True).first()
    tlist = "ARRAY[" + ",".join(map(str, transformers)) + "]"
    insert_generated(
        Meter,
        count,
        {
            "global_device_id": "'m' || lpad(g::text, 8, '0')",
            "msn": "4000000000 + g",
            "mdc_id": str(mdc.pk),
            "consumer_id": f"{first_consumer} - 1 + g",
            "transformer_id": f"({tlist})[1 + g %% 50]",
        },
    )
    insert_generated(
        BillingAccount,
        count,
        {
            "consumer_id": f"{first_consumer} - 1 + g",
            "reading_batch": "'01'",
            "tariff_id": f"CASE WHEN g %% 2 = 0 THEN {tariff.pk} END",
            "sanctioned_load_kw": "5",
        },
    )
    partitions_ensure(start=dt.date(2026, 9, 1), months_ahead=3)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_meterfactor (meter_id, multiplying_factor) "
            "SELECT id, 2 FROM registry_meter WHERE msn % 10 = 0"
        )
        for month, base in ((10, 0), (11, 1)):
            at = dt.datetime(2026, month, 1, tzinfo=pkt)
            cursor.execute(
                """INSERT INTO warehouse_monthly_billing (global_device_id, msn, meter_datetime,
                     active_energy_pos_t1, active_energy_pos_t2, active_energy_pos_tl,
                     reactive_energy_pos_tl, active_mdi_pos_t1, active_mdi_pos_t2,
                     active_mdi_pos_tl, mdi_reset_datetime, mdc_id, ingested_at)
                   SELECT 'm' || lpad(g::text, 8, '0'), 4000000000 + g, %(at)s,
                     1000 + g %% 97 + %(base)s * (100 + g %% 13),
                     500 + g %% 89 + %(base)s * (50 + g %% 7),
                     1500 + g %% 97 + g %% 89 + %(base)s * (150 + g %% 13 + g %% 7),
                     300 + %(base)s * (40 + g %% 5), 2.5, 3.1, 3.1, %(at)s, %(mdc)s, now()
                   FROM generate_series(1, %(n)s) g""",
                {"at": at, "base": base, "mdc": mdc.pk, "n": count},
            )
        cursor.execute("ANALYZE")
    ReadingCycle.objects.create(
        batch="01",
        reading_date=dt.date(2026, 10, 1),
        cutoff=dt.datetime(2026, 10, 1, 6, tzinfo=pkt),
        source="monthly",
    )
    return ReadingCycle.objects.create(
        batch="01",
        reading_date=dt.date(2026, 11, 1),
        cutoff=dt.datetime(2026, 11, 1, 6, tzinfo=pkt),
        source="monthly",
    )


def orm_loop(run, sample: int) -> int:
    """The baseline: what a straightforward Django implementation does, consumer by consumer."""
    from apps.billing.models import BillingAccount, Determinant
    from apps.warehouse.models import MonthlyBillingReading

    cycle, previous = run.cycle, run.cycle.previous()
    accounts = BillingAccount.objects.filter(reading_batch=cycle.batch).select_related(
        "consumer", "tariff"
    )[:sample]
    written = 0
    for account in accounts:
        meter = account.consumer.meters.first()
        factor = getattr(getattr(meter, "billing_factor", None), "multiplying_factor", Decimal(1))
        rows = MonthlyBillingReading.objects.filter(global_device_id=meter.global_device_id)
        pres = (
            rows.filter(meter_datetime__gt=previous.cutoff, meter_datetime__lte=cycle.cutoff)
            .order_by("-meter_datetime")
            .first()
        )
        prev = (
            rows.filter(
                meter_datetime__gt=previous.cutoff - dt.timedelta(days=45),
                meter_datetime__lte=previous.cutoff,
            )
            .order_by("-meter_datetime")
            .first()
        )
        bands = account.tariff.band_maps.first() if account.tariff else None
        units = (pres.active_energy_pos_tl - prev.active_energy_pos_tl) * factor
        peak = None
        if bands:
            peak = (pres.active_energy_pos_t2 - prev.active_energy_pos_t2) * factor
        Determinant.objects.update_or_create(
            run=run, consumer=account.consumer,
            defaults={
                "reference_no": account.consumer.reference_no, "batch": cycle.batch,
                "meter": meter, "global_device_id": meter.global_device_id, "msn": meter.msn,
                "multiplying_factor": factor, "previous_datetime": prev.meter_datetime,
                "present_datetime": pres.meter_datetime, "units_total": units,
                "units_peak": peak, "mdi_total": pres.active_mdi_pos_tl,
                "reading_mode": "automatic", "vee_flag": "actual",
            },
        )  # fmt: skip
        written += 1
    return written


class Counter:
    size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000, help="consumers of the ORM loop")
    parser.add_argument("--keep-database", action="store_true")
    arguments = parser.parse_args()
    count = arguments.consumers

    admin_url, bench_url = bench_database_url()
    database_exec(
        admin_url,
        f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)",
        f"CREATE DATABASE {BENCH_DATABASE}",
    )
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    from django.core.management import call_command

    from apps.billing.models import BillingRun
    from apps.billing.services.exports import export_write
    from apps.billing.services.runs import run_approve, run_compute

    try:
        call_command("migrate", verbosity=0)
        print(f"consumers: {count:,} (one meter and two monthly billing rows each)", flush=True)
        began = time.perf_counter()
        cycle = fleet_create(count)
        print(f"fleet created in {time.perf_counter() - began:.1f} s; "
              f"peak RSS {peak_rss_mb():.0f} MB", flush=True)  # fmt: skip

        run = BillingRun.objects.create(cycle=cycle)
        began = time.perf_counter()
        run = run_compute(run_id=run.pk)
        set_seconds = time.perf_counter() - began
        set_rate = run.consumers_done / set_seconds
        print(f"set-based determinants: {run.consumers_done:,} in {set_seconds:.1f} s = "
              f"{set_rate:,.0f} consumers/s; peak RSS {peak_rss_mb():.0f} MB",
              flush=True)  # fmt: skip

        baseline = BillingRun.objects.create(cycle=cycle)
        began = time.perf_counter()
        done = orm_loop(baseline, arguments.sample)
        orm_seconds = time.perf_counter() - began
        orm_rate = done / orm_seconds
        print(f"per-consumer ORM loop: {done:,} in {orm_seconds:.1f} s = {orm_rate:,.0f} "
              f"consumers/s (projected {count / orm_rate:,.0f} s for all)")  # fmt: skip
        print(f"ratio set-based / ORM loop: {set_rate / orm_rate:.1f} x", flush=True)
        a = run.determinants.order_by("reference_no").values_list("units_total", flat=True)[:done]
        b = baseline.determinants.order_by("reference_no").values_list("units_total", flat=True)
        print(f"same units on the sample: {list(a) == list(b)}")

        run = run_approve(run=run, actor=None)
        for export_format in ("csv", "fixed"):
            sink = Counter()
            began = time.perf_counter()
            digest, size, rows = export_write(run=run, export_format=export_format, out=sink)
            seconds = time.perf_counter() - began
            print(f"export {export_format}: {rows:,} consumers, {size / 1e6:.1f} MB in "
                  f"{seconds:.1f} s = {rows / seconds:,.0f} consumers/s, sha256 {digest[:16]}; "
                  f"peak RSS {peak_rss_mb():.0f} MB", flush=True)  # fmt: skip
    finally:
        from django.db import connections

        connections.close_all()
        if not arguments.keep_database:
            database_exec(admin_url, f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
