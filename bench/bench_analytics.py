"""Analytics benchmark: roll-up upkeep vs ingestion, page and API latency over the roll-ups,
theft-suspect precision/recall against planted thieves, energy balance error per feeder.

    .venv/bin/python bench/bench_analytics.py --meters 400 --days 30     # ~576,000 rows
    .venv/bin/python bench/bench_analytics.py --meters 35000 --days 30   # ~50,400,000 rows

In one run, in a database of its own (dropped at the end unless --keep-database):

1. a network of feeders, transformers and consumers, each feeder and transformer with an input
   meter; every consumer's true use follows its own daily shape; a share of consumers are
   thieves from ``--theft-days`` before the end: bypass (30 % metered), stopped meter (0 kWh,
   voltage present) or tamper (half metered, CT-bypass events). Input meters read the true use
   of their consumers plus technical loss: their loss is technical + stolen energy (the truth);
2. each day of 30-minute load profile (registers) is ingested in pulls of ``--pull-hours`` as a
   pull does it: a vendor's JSON answer per batch of meters (every load-profile field filled),
   decoded and validated (``fetch._split_of``) and loaded (``rows_load_split``); each pull is
   then rolled up as the task after a pull does (``rollup_refresh_readings`` of the touched
   meters and readings): upkeep vs ingest of the same rows, both timed, in the same run;
3. the p95 of every analytics page and API (Django test client, logged in) over the roll-ups;
4. the top-N suspects (N = the true thief count) against the thieves, per reason too, and
   per feeder the energy balance's loss against the truth.

The answers are made here before the clock starts (not served over HTTP by the simulator: see
bench_ingestion.py for that path), so the ingest time is the MDM's side of the pulls: decoding,
validating and loading, what the MDM always pays whatever the vendor's MDC costs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
os.environ.setdefault("DEBUG", "0")

from bench_vee import database_run  # noqa: E402

BENCH_DATABASE = "mdm_bench_analytics"
FIRST_DAY = dt.date(2026, 9, 1)
INTERVAL = 30
TECHNICAL_LOSS = {"feeder": Decimal("0.06"), "transformer": Decimal("0.03")}
KINDS = ("bypass", "stopped", "tamper")
METERED = {"bypass": Decimal("0.3"), "stopped": Decimal(0), "tamper": Decimal("0.5")}


def database_urls() -> tuple[str, str]:
    from urllib.parse import urlsplit, urlunsplit

    from mdm import embedded

    base = os.environ.get("DATABASE_URL")
    if not base:
        data_dir = Path(os.environ.get("MDM_DATA_DIR", ROOT / "var")).resolve()
        base = embedded.postgres_url(data_dir)
    return base, urlunsplit(urlsplit(base)._replace(path=f"/{BENCH_DATABASE}"))


def network(meters: int, per_transformer: int, transformers_per_feeder: int, seed: int):
    """Registry objects, and per consumer gid: (base kWh per interval, transformer, thief)."""
    from apps.analytics.models import InputMeter
    from apps.registry.models import (
        Circle,
        Disco,
        Division,
        Feeder,
        Mdc,
        Meter,
        Subdivision,
        Transformer,
    )

    rng = random.Random(seed)
    mdc = Mdc.objects.create(code="bench-an", name="Bench", base_url="http://127.0.0.1:9/")
    disco = Disco.objects.create(code="BD", name="Bench DISCO")
    circle = Circle.objects.create(disco=disco, code="BC", name="c")
    division = Division.objects.create(circle=circle, code="BV", name="v")
    sub = Subdivision.objects.create(division=division, code="BS", name="s")
    n_transformers = max(1, meters // per_transformer)
    n_feeders = max(1, n_transformers // transformers_per_feeder)
    feeders = [Feeder.objects.create(subdivision=sub, code=f"F{i:03d}", name="") for i in
               range(n_feeders)]  # fmt: skip
    transformers = [
        Transformer.objects.create(feeder=feeders[i % n_feeders], code=f"T{i:04d}", name="")
        for i in range(n_transformers)
    ]
    consumers, rows, msn = {}, [], 4_100_000_000
    for i in range(meters):
        gid = f"b{i:07d}"
        transformer = transformers[i % n_transformers]
        rows.append(Meter(global_device_id=gid, msn=msn + i, mdc=mdc, transformer=transformer))
        consumers[gid] = (Decimal(rng.randint(100, 900)) / 1000, transformer, None)
    inputs = {}
    for node in feeders + transformers:
        i = len(rows)
        gid = f"b{i:07d}"
        rows.append(Meter(global_device_id=gid, msn=msn + i, mdc=mdc, transformer=None))
        inputs[gid] = node
    Meter.objects.bulk_create(rows, batch_size=5000)
    by_gid = {m.global_device_id: m for m in Meter.objects.filter(mdc=mdc)}
    InputMeter.objects.bulk_create(
        InputMeter(
            meter=by_gid[gid],
            feeder=node if isinstance(node, Feeder) else None,
            transformer=node if isinstance(node, Transformer) else None,
        )
        for gid, node in inputs.items()
    )
    return mdc, consumers, inputs


@contextlib.contextmanager
def slow_statements(show: bool, totals: dict | None = None):
    """Print roll-up statements over 50 ms (``show``); add every statement's time to
    ``totals`` (statement's opening words -> [seconds, calls]) when given."""
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - began
            words = " ".join(sql.split())
            if show and spent > 0.05:
                print(f"    {spent:6.3f} s  {words[:110]}")
            if totals is not None:
                entry = totals.setdefault(words[:90], [0.0, 0])
                entry[0] += spent
                entry[1] += 1

    if not (show or totals is not None):
        yield
        return
    with connection.execute_wrapper(wrapper):
        yield


def shape(i: int) -> Decimal:
    """Daily shape: evening peak, night trough (interval index 0..47)."""
    hour = i // 2
    return Decimal(["0.5", "0.8", "1.0", "1.6"][(hour >= 7) + (hour >= 12) + (hour >= 18)])


MILLI = Decimal("0.001")


def answer_body(pulled: list[tuple], fields: tuple[str, ...], msns: dict[str, int]) -> bytes:
    """A vendor's JSON answer to a load-profile read of these rows (device, time, register,
    interval kWh), every UDIL field filled as a meter would: the ingest of the same rows is timed
    on what an MDC really sends (50 fields a row, not the few the roll-ups read)."""
    rows = []
    for gid, at, register, kwh in pulled:
        kw = float(kwh) * 60 / INTERVAL
        amps = kw * 1000 / 3 / 230
        stamp = at.strftime("%Y-%m-%d %H:%M:%S")
        read = (at + dt.timedelta(minutes=4)).strftime("%Y-%m-%d %H:%M:%S")
        tl = register.quantize(MILLI)
        t1, q = (tl * Decimal("0.25")).quantize(MILLI), (tl * Decimal("0.3")).quantize(MILLI)
        q1 = (q * Decimal("0.25")).quantize(MILLI)
        energies = [t1, tl - t1, "0.000", "0.000", tl, q1, q - q1, "0.000", "0.000", q]
        mdi = [f"{kw:.3f}", f"{kw * 0.9:.3f}", "0.000", "0.000", f"{kw:.3f}"]
        phases = [f"{kw / 3:.3f}"] * 3 + [f"{kw:.3f}"]
        values = (
            [str(msns[gid]), gid, stamp, "0", str(INTERVAL)] + [f"{e}" for e in energies]
            + mdi + [f"{kw * 40:.3f}"] * 5 + [f"{amps:.3f}"] * 3
            + ["230.400", "229.800", "231.100"] + phases + ["0.000"] * 4
            + [f"{kw / 9:.3f}"] * 3 + [f"{kw / 3:.3f}"] + ["0.000"] * 4 + ["0.950", read, read]
        )  # fmt: skip
        rows.append(dict(zip(fields, values, strict=True)))
    return json.dumps({"status": "1", "message": "", "data": rows}, separators=(",", ":")).encode()


_SCALE_INSERT = """
INSERT INTO warehouse_load_profile (global_device_id, meter_datetime, channel_id, mdc_id, msn,
  "interval", active_energy_tl, voltage_phase_a, db_datetime)
SELECT m.global_device_id, t, 0, %(mdc)s, m.msn, 30,
       round(1000 + (100 + m.id %% 800) / 1000.0 * (extract(epoch FROM t - %(t0)s) / 1800), 3),
       230, t
FROM registry_meter m
CROSS JOIN generate_series(%(first)s, %(last)s, interval '30 minutes') t
WHERE m.global_device_id LIKE 's%%'
"""


def scale_populate(args, mdc) -> tuple[list[str], int, float, float]:
    """Extra meters on their own feeders and transformers, --days of load profile each
    generated in SQL (one statement per day), then rolled up in bulk: (gids, rows, seconds to
    generate, seconds to roll up)."""
    from django.db import connection

    from apps.analytics.services.rollups import rollup_refresh
    from apps.registry.models import Consumer, Feeder, Meter, Subdivision, Transformer
    from apps.warehouse.partitions import PKT

    sub = Subdivision.objects.get(code="BS")
    n_transformers = max(1, args.scale_meters // args.per_transformer)
    n_feeders = max(1, n_transformers // args.transformers_per_feeder)
    feeders = Feeder.objects.bulk_create(
        Feeder(subdivision=sub, code=f"SF{i:04d}", name="") for i in range(n_feeders)
    )
    transformers = Transformer.objects.bulk_create(
        Transformer(
            feeder=feeders[i % n_feeders], code=f"ST{i:05d}", name="", capacity_kva=Decimal(100)
        )
        for i in range(n_transformers)
    )
    consumers = Consumer.objects.bulk_create(
        (Consumer(reference_no=f"S{i:09d}", name=f"Scale {i}", tariff=("A-1", "A-2", "B-1")[i % 3],
                  sanctioned_load_kw=Decimal(2 + i % 4)) for i in range(args.scale_meters)),
        batch_size=5000,
    )  # fmt: skip
    Meter.objects.bulk_create(
        (Meter(global_device_id=f"s{i:07d}", msn=4_200_000_000 + i, mdc=mdc,
               transformer=transformers[i % n_transformers], consumer=consumers[i])
         for i in range(args.scale_meters)),
        batch_size=5000,
    )  # fmt: skip
    gids = [f"s{i:07d}" for i in range(args.scale_meters)]
    t0 = dt.datetime.combine(FIRST_DAY, dt.time(), tzinfo=PKT)
    rows = 0
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for d in range(args.days):
            first = t0 + dt.timedelta(days=d, minutes=INTERVAL)
            last = t0 + dt.timedelta(days=d + 1)
            cursor.execute(_SCALE_INSERT, {"mdc": mdc.pk, "t0": t0, "first": first,
                                           "last": last})  # fmt: skip
            rows += cursor.rowcount
            print(f"  generated day {d + 1}/{args.days}: {rows:,} rows "
                  f"{time.perf_counter() - began:6.0f} s", flush=True)  # fmt: skip
        cursor.execute("ANALYZE warehouse_load_profile")
    generate_s = time.perf_counter() - began
    began = time.perf_counter()
    chunk = 5000
    for d in range(args.days):
        day = FIRST_DAY + dt.timedelta(days=d)
        for i in range(0, len(gids), chunk):
            rollup_refresh(global_device_ids=gids[i : i + chunk], day_start=day, day_end=day)
        print(f"  rolled up day {d + 1}/{args.days} {time.perf_counter() - began:6.0f} s",
              flush=True)  # fmt: skip
    return gids, rows, generate_s, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=400, help="consumers")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--theft-days", type=int, default=7)
    parser.add_argument("--thief-share", type=float, default=0.08)
    parser.add_argument("--per-transformer", type=int, default=20)
    parser.add_argument("--transformers-per-feeder", type=int, default=5)
    parser.add_argument(
        "--pull-hours",
        type=int,
        default=24,
        help="hours of load profile each pull brings (each followed by its roll-up, as the task"
        " after a pull does): 24 = one pull a day, 1 = hourly pulls",
    )
    parser.add_argument("--repeat", type=int, default=20, help="requests per page for p95")
    parser.add_argument(
        "--lookback-days",
        type=int,
        help="MDM_CONSUMPTION_LOOKBACK_DAYS for this run (how far the derivation looks back for"
        " a meter's previous reading: most of a refresh's cost; default: the setting's)",
    )
    parser.add_argument(
        "--scale-meters",
        type=int,
        default=0,
        help="extra meters whose --days of 30-minute load profile are generated in SQL"
        " (generate_series straight into the partitions, no loader) and rolled up in bulk"
        " before the pages are timed: 35000 meters x 30 days ~ 50,400,000 rows",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="time the pages only, over the database a --keep-database run left (migrated"
        " first: before/after a change on the same rows; --days as in that run)",
    )
    parser.add_argument("--show-slow", action="store_true", help="roll-up statements over 50 ms")
    parser.add_argument(
        "--profile", action="store_true", help="roll-up time per statement, summed over pulls"
    )
    args = parser.parse_args()

    admin_url, bench_url = database_urls()
    if not args.reuse_database:
        database_run(admin_url, f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        database_run(admin_url, f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ["MDM_ANALYTICS_ROLLUP_AFTER_INGESTION"] = "0"  # rolled up here, timed apart
    os.environ["MDM_VEE_VALIDATE_AFTER_INGESTION"] = "0"
    if args.lookback_days is not None:
        os.environ["MDM_CONSUMPTION_LOOKBACK_DAYS"] = str(args.lookback_days)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    try:
        call_command("migrate", verbosity=0)
        if args.reuse_database:
            from apps.analytics.models import InputMeter

            first = InputMeter.objects.filter(feeder__isnull=False).order_by("feeder_id").first()
            last_day = FIRST_DAY + dt.timedelta(days=args.days - 1)
            theft_start = FIRST_DAY + dt.timedelta(days=args.days - args.theft_days)
            pages_time(args, Client, get_user_model(), theft_start, last_day, first.feeder)
        else:
            run(args, Client, get_user_model())
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep_database or args.reuse_database):
            database_run(admin_url, f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def run(args, Client, User) -> None:
    from django.conf import settings

    from apps.analytics.services.rollups import rollup_refresh, rollup_refresh_readings
    from apps.ingestion.fetch import _split_of
    from apps.registry.models import Meter
    from apps.udil.datasets import DATASETS
    from apps.warehouse.partitions import PKT
    from apps.warehouse.services import partitions_ensure, rows_load, rows_load_split

    dataset = DATASETS["load_profile"]

    partitions_ensure(start=FIRST_DAY, months_ahead=(args.days // 28) + 2)
    mdc, consumers, inputs = network(
        args.meters, args.per_transformer, args.transformers_per_feeder, seed=13
    )
    rng = random.Random(29)
    gids = sorted(consumers)
    thieves = {gid: KINDS[n % 3] for n, gid in enumerate(rng.sample(gids, round(
        len(gids) * args.thief_share)))}  # fmt: skip
    theft_start = FIRST_DAY + dt.timedelta(days=args.days - args.theft_days)
    last_day = FIRST_DAY + dt.timedelta(days=args.days - 1)
    per_day = (len(consumers) + len(inputs)) * 48
    print(
        f"size: {len(consumers)} consumers + {len(inputs)} input meters x {args.days} days of "
        f"30-minute load profile = {per_day * args.days:,} rows; {len(thieves)} thieves "
        f"({args.thief_share:.0%}) in the last {args.theft_days} days; {os.cpu_count()} CPUs",
        flush=True,
    )
    msns = dict(Meter.objects.values_list("global_device_id", "msn"))
    registers = dict.fromkeys([*consumers, *inputs], Decimal(1000))
    true_loss: dict[int, Decimal] = {}  # feeder id -> input - metered over the theft period
    ingest_s = rollup_s = decode_s = 0.0
    totals: dict | None = {} if args.profile else None
    loaded = pulls_made = 0
    for d in range(args.days + 1):  # the extra day: the 00:00 reading closing the last day
        day = FIRST_DAY + dt.timedelta(days=d - 1)
        start = dt.datetime.combine(day, dt.time(), tzinfo=PKT)
        intervals = range(48) if d else range(47, 48)
        rows, events = [], []
        true_by_node: dict[int, list] = {}  # transformer id, -feeder id -> true kWh per interval
        metered_by_feeder: dict[int, Decimal] = {}
        for gid in gids:
            base, transformer, _ = consumers[gid]
            kind = thieves.get(gid) if day >= theft_start else None
            for i in intervals:
                true = base * shape(i)
                metered = true if kind is None else true * METERED[kind]
                registers[gid] += metered
                for node in (transformer.pk, -transformer.feeder_id):
                    true_by_node.setdefault(node, [Decimal(0)] * 48)[i] += true
                fid = transformer.feeder_id
                metered_by_feeder[fid] = metered_by_feeder.get(fid, Decimal(0)) + metered
                rows.append(
                    (gid, start + dt.timedelta(minutes=INTERVAL * (i + 1)), registers[gid], metered)
                )
            if kind == "tamper" and d:
                events.append((gid, start + dt.timedelta(hours=rng.randint(1, 22))))
        for gid, node in inputs.items():
            is_feeder = node.__class__.__name__ == "Feeder"
            gain = 1 + TECHNICAL_LOSS["feeder" if is_feeder else "transformer"]
            true = true_by_node.get(-node.pk if is_feeder else node.pk, [Decimal(0)] * 48)
            for i in intervals:
                registers[gid] += true[i] * gain
                rows.append(
                    (
                        gid,
                        start + dt.timedelta(minutes=INTERVAL * (i + 1)),
                        registers[gid],
                        true[i] * gain,
                    )
                )
            if is_feeder and day >= theft_start and d:
                true_loss[node.pk] = true_loss.get(node.pk, Decimal(0)) + (
                    sum(true, Decimal(0)) * gain - metered_by_feeder.get(node.pk, 0)
                )
        pulls: dict[int, list] = {}  # what each pull of --pull-hours brings
        for row in rows:
            pull = int(((row[1] - start).total_seconds() - 1) // (3600 * args.pull_hours))
            pulls.setdefault(pull, []).append(row)
        for n, (_, pulled) in enumerate(sorted(pulls.items())):
            # What the MDC sends, an answer per batch of meters (as a pull asks: the MDC's
            # batch size), made before the clock starts; each is decoded and loaded as the
            # pull does.
            by_meter: dict[str, list] = {}
            for row in pulled:
                by_meter.setdefault(row[0], []).append(row)
            meters = sorted(by_meter)
            bodies = [
                answer_body([r for g in meters[i : i + mdc.batch_size] for r in by_meter[g]],
                            dataset.wire_order, msns)
                for i in range(0, len(meters), mdc.batch_size)
            ]  # fmt: skip
            began = time.perf_counter()
            for body in bodies:
                answer_began = time.perf_counter()
                split = _split_of(body, "application/json", dataset)
                decode_s += time.perf_counter() - answer_began
                result = rows_load_split(
                    dataset_code="load_profile", mdc_id=mdc.pk, good=split.good,
                    rejects=split.rejects, source="b",
                )  # fmt: skip
                assert not split.rejects and not result.quarantined, split.rejects[:1]
                loaded += result.inserted
            if events and n == 0:
                rows_load(
                    dataset_code="events",
                    mdc_id=mdc.pk,
                    source="b",
                    raw_rows=[
                        {
                            "global_device_id": g,
                            "event_datetime": at.strftime("%Y-%m-%d %H:%M:%S"),
                            "event_code": "121",
                            "event_description": "CT bypass",
                        }
                        for g, at in events
                    ],
                )
            ingest_s += time.perf_counter() - began
            pulls_made += 1
            began = time.perf_counter()
            touched = sorted({row[0] for row in pulled})
            times = [row[1] for row in pulled]
            with slow_statements(args.show_slow, totals):  # as the task after a pull does
                rollup_refresh_readings(
                    global_device_ids=touched, first=min(times), last=max(times)
                )
                if events and n == 0:
                    rollup_refresh(global_device_ids=touched, day_start=day, day_end=day,
                                   consumption=False)  # fmt: skip
            rollup_s += time.perf_counter() - began
    assert loaded == per_day * args.days + (len(consumers) + len(inputs)), loaded
    print(f"\nrows loaded: {loaded:,} in {pulls_made:,} pulls of {args.pull_hours} h")
    print(
        f"ingest (MDM side of pulls) {ingest_s:8.1f} s  {loaded / ingest_s:10,.0f} rows/s"
        f"  (decode and validate {decode_s:.1f} s, loader {ingest_s - decode_s:.1f} s)"
    )
    print(f"roll-up upkeep             {rollup_s:8.1f} s  {loaded / rollup_s:10,.0f} rows/s")
    print(f"upkeep / ingest            {rollup_s / ingest_s:8.2f} x  (target <= 0.2; "
          f"consumption lookback {settings.CONSUMPTION_LOOKBACK_DAYS} days)")  # fmt: skip
    for words, (spent, calls) in sorted((totals or {}).items(), key=lambda t: -t[1][0]):
        print(f"  {spent:7.3f} s {calls:5d}x  {words}")

    from django.db import connection

    total_rows = loaded
    if args.scale_meters:
        print(f"\nscale: {args.scale_meters} more meters x {args.days} days generated in SQL",
              flush=True)  # fmt: skip
        _, rows, generate_s, bulk_s = scale_populate(args, mdc)
        total_rows += rows
        print(
            f"scale rows {rows:,} generated in {generate_s:.0f} s ({rows / generate_s:,.0f}"
            f" rows/s), rolled up in bulk in {bulk_s:.0f} s ({rows / bulk_s:,.0f} rows/s)"
        )
    print(f"load-profile rows in the warehouse: {total_rows:,}")
    with connection.cursor() as cursor:  # what autovacuum does after a load, done now
        cursor.execute("ANALYZE analytics_meterday, analytics_meterhour, analytics_nodeday, "
                       "analytics_eventday")  # fmt: skip
    feeder = next(node for node in inputs.values() if node.__class__.__name__ == "Feeder")
    pages_time(args, Client, User, theft_start, last_day, feeder)
    suspects_and_balance(theft_start, last_day, thieves, true_loss)


def pages_time(args, Client, User, theft_start, last_day, feeder) -> None:
    """The p95 of every analytics page and API over the roll-ups."""
    admin = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "b@example.com", "x"
    )
    client = Client()
    client.force_login(admin)
    period = f"start={theft_start}&end={last_day}"
    urls = [
        f"/analytics/balance/?{period}&level=feeder",
        f"/analytics/balance/?{period}&level=transformer",
        f"/analytics/suspects/?{period}",
        "/analytics/health/?level=feeder&hours=24",
        f"/analytics/health/silent/?level=feeder&node={feeder.pk}",
        f"/analytics/completeness/?start={FIRST_DAY}&end={last_day}&level=feeder",
        f"/analytics/load/?{period}&level=feeder&node={feeder.pk}",
        f"/analytics/events/?start={FIRST_DAY}&end={last_day}",
        "/analytics/commands/",
        f"/api/analytics/balance/?{period}&level=feeder",
        f"/api/analytics/suspects/?{period}",
        "/api/analytics/health/?level=transformer",
        f"/api/analytics/completeness/?start={FIRST_DAY}&end={last_day}&level=mdc",
        f"/api/analytics/load/?{period}&level=feeder&node={feeder.pk}",
        f"/analytics/consumers/?{period}",
        f"/analytics/transformers/?{period}",
        f"/analytics/transformers/?{period}&node={feeder.pk}",
        f"/analytics/load/?{period}&tariff=A-1",
        f"/api/analytics/load/?{period}&tariff=A-1",
        f"/analytics/events/list/?{period}",
        "/analytics/reports/",
        "/api/analytics/reports/",
    ]
    print(f"\np95 of {args.repeat} requests each (ms)")
    for url in urls:
        client.get(url)  # warm: templates, plotly, connection
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(f"  {p95:8.1f}  {url}", flush=True)


def suspects_and_balance(theft_start, last_day, thieves, true_loss) -> None:
    from apps.analytics.selectors import energy_balance
    from apps.analytics.suspects import suspects_rank

    ranked = suspects_rank(start=theft_start, end=last_day)
    top = ranked[: len(thieves)]
    hits = sum(1 for s in top if s.global_device_id in thieves)
    print(f"\nsuspects: top {len(thieves)} of {len(ranked)} ranked")
    print(f"  precision {hits / max(len(top), 1):.3f}  recall {hits / max(len(thieves), 1):.3f}"
          "  (targets >= 0.8)")  # fmt: skip
    for reason in sorted({code for s in ranked for code in s.reason_codes}):
        named = {s.global_device_id for s in ranked if reason in s.reason_codes}
        right = len(named & set(thieves))
        print(f"  {reason:<18} named {len(named):5}  precision {right / len(named):.3f}  "
              f"recall {right / len(thieves):.3f}")  # fmt: skip
    print("\nenergy balance per feeder over the theft days: loss vs truth")
    errors = []
    for b in energy_balance(level="feeder", start=theft_start, end=last_day):
        truth = true_loss.get(b.node_id)
        if truth is None:
            continue
        error = abs(b.loss_kwh - truth) / (b.input_kwh or 1) * 100
        errors.append(error)
        print(f"  {b.code}: input {b.input_kwh:12.3f} loss {b.loss_kwh:12.3f} ({b.loss_pct} %, "
              f"{b.band})  truth {truth:12.3f}  error {error:.4f} % of input")  # fmt: skip
    print(f"  worst error {max(errors):.4f} % of input (target < 1 %)")


if __name__ == "__main__":
    main()
