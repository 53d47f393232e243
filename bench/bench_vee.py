"""VEE benchmark: accuracy against planted anomalies, estimation error, and cost vs ingestion.

    .venv/bin/python bench/bench_vee.py --meters 200 --days 30

In one run, in a database of its own (dropped at the end unless --keep-database):

1. a simulated MDC of N meters x D days of 15-minute load profile (registers, no natural gaps)
   plants anomalies in its last ``--planted-days`` days by its own plan (``SimMdc.anomaly_plan``,
   ``apps.simulator.anomalies``: gaps, spikes, rollbacks, zero-with-voltage stretches, stuck
   registers, clock drift, relay-open usage), served over real HTTP by the portal's ``/sim/``
   endpoints (gunicorn), registered in the MDM like a vendor's MDC (the relay-open meters with
   the disconnection the MDM would have recorded);
2. pulls all days but the last through the real pipeline (``pull_run``), then validates and
   estimates them (``validation_after_ingestion``, what the task after each pull runs);
3. analyzes the warehouse (what autovacuum has done by the next day's pull), pulls the last
   day, then validates and estimates it the same way: the cost of a day of validation and
   estimation against the time ingesting that day took, both printed (the fresh day is not
   analyzed yet, as in production; ``--end`` late in a month puts it in a partition holding the
   days before it, whose statistics end before it);
4. asks the simulator for its ground truth and reports, per rule, precision and recall of the
   exceptions; for the planted gaps, the mean absolute error of the estimated intervals
   (as stored: interpolation or like-day, scaled to the register delta; and before scaling)
   against the energy the simulator withheld, with the error of carrying the last value
   forward (the naive method) on the same intervals.

The MDC shares the machine's cores here (a vendor's runs on its own), so ingestion is slower
than the MDM side alone (see bench_ingestion.py); validation's rows/s is printed too, to compare
with that figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
os.environ.setdefault("DEBUG", "0")

from bench_ingestion import free_port, redis_url, server_start, server_stop  # noqa: E402

BENCH_DATABASE = "mdm_bench_vee"
SIM_CODE = "vee_bench"
#: Planted kind -> (rule that must find it, matched by first interval or by PKT day).
RULES = {
    "gap": ("gap", "first"),
    "spike": ("spike", "first"),
    "rollback": ("rollback", "first"),
    "zero": ("zero_with_voltage", "first"),
    "stuck": ("zero_with_voltage", "first"),
    "clock": ("time_tolerance", "first"),
    "relay_open": ("relay_open_usage", "day"),
}


def database_urls() -> tuple[str, str]:
    from mdm import embedded

    base = os.environ.get("DATABASE_URL")
    if not base:
        data_dir = Path(os.environ.get("MDM_DATA_DIR", ROOT / "var")).resolve()
        base = embedded.postgres_url(data_dir)
    parts = urlsplit(base)
    return base, urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def database_run(admin_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


def fleet_create(
    *, meters: int, days: int, base_url: str, now: dt.datetime, batch: int, plan: dict
):
    from apps.registry.models import Meter
    from apps.registry.services import mdc_register
    from apps.simulator import anomalies
    from apps.simulator import generator as gen
    from apps.simulator.services import sim_mdc_create

    sim, sim_meters = sim_mdc_create(
        code=SIM_CODE,
        meters=meters,
        days=days,
        seed=7,
        lp_interval=15,
        now=now,
        offline_rate=0.0,
        gap_rate=0.0,
        failure_rate=0.0,
        command_pace_seconds=0.0,
    )
    sim.anomaly_plan = plan
    sim.save(update_fields=["anomaly_plan"])
    anomalies.clear_caches()
    mdc = mdc_register(
        actor=None,
        code="vee-bench",
        name="VEE bench",
        base_url=f"{base_url}/sim/{sim.code}/",
        data_format="json",
        credentials_in="headers",
        username=sim.username,
        password=sim.password,
        auth_code=sim.auth_code,
        batch_size=batch,
        timeout_seconds=300,
        window_minutes={"load_profile": 1440},
        pull_intervals={},
    )
    Meter.objects.bulk_create(
        [
            Meter(
                global_device_id=m.global_device_id,
                msn=m.msn,
                mdc=mdc,
                activation_status=m.activation_status,
            )
            for m in sim_meters
        ]
    )
    # the MDM recorded these meters' disconnection (the consumers bypass it)
    own = anomalies.AnomalyPlan.from_dict(plan)
    open_relay = [
        m.global_device_id for m in sim_meters if anomalies.relay_open(gen.spec_of(m, sim), own)
    ]
    Meter.objects.filter(global_device_id__in=open_relay).update(relay_state="disconnected")
    return sim, sim_meters, mdc


def pull(mdc, since: dt.datetime, until: dt.datetime):
    from apps.ingestion.services import pull_run

    started = time.perf_counter()
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", since=since, until=until)
    seconds = time.perf_counter() - started
    assert run.outcome == "succeeded", (run.outcome, run.error)
    return run, seconds


def _slow_statements(slow: list):
    """A database execute wrapper noting statements slower than 0.2 s."""

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - started
            if seconds > 0.2:
                slow.append((seconds, " ".join(sql.split())[:160]))

    return wrapper


def validate(run, *, show_slow: bool = False):
    from django.db import connection

    from apps.vee.services.validation import validation_after_ingestion

    slow: list = []
    started = time.perf_counter()
    with connection.execute_wrapper(_slow_statements(slow)):
        validation = validation_after_ingestion(ingestion_run_id=run.pk)
    seconds = time.perf_counter() - started
    if show_slow:
        for took, sql in sorted(slow, reverse=True)[:8]:
            print(f"  slow statement {took:6.2f} s: {sql}")
    return validation, seconds


def stamp(moment: dt.datetime) -> str:
    from apps.udil.timefmt import PKT

    return moment.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S")


def accuracy(truth: list[dict]) -> list[tuple[str, int, int, int, float, float]]:
    """(kind, planted, found, matched, precision, recall) per planted kind. Where two kinds
    share a rule (zero and stuck), each one's precision leaves out the other's finds."""
    from apps.vee.models import ValidationException

    def key(gid: str, first: str, by: str) -> tuple[str, str]:
        return (gid, first[:10] if by == "day" else first)

    rows = []
    for kind, (rule_type, by) in RULES.items():
        found = {
            key(gid, stamp(start), by)
            for gid, start in ValidationException.objects.filter(
                rule__rule_type=rule_type
            ).values_list("meter__global_device_id", "period_start")
        }
        planted = {key(t["gid"], t["first"], by) for t in truth if t["kind"] == kind}
        others = {
            key(t["gid"], t["first"], by)
            for t in truth
            if t["kind"] != kind and RULES.get(t["kind"], ("",))[0] == rule_type
        }
        found -= others
        matched = len(found & planted)
        precision = matched / len(found) if found else 1.0
        recall = matched / len(planted) if planted else 1.0
        rows.append((kind, len(planted), len(found), matched, precision, recall))
    return rows


def estimation_error(truth: list[dict], values_out: dict | None = None) -> dict:
    """MAE (kWh) of the estimates against the withheld energy, and of carrying forward."""
    from apps.vee.models import ValueVersion

    current = {
        (gid, stamp(at)): (value, method, inputs)
        for gid, at, value, method, inputs in ValueVersion.objects.filter(
            is_current=True, kind="estimated"
        ).values_list("meter__global_device_id", "meter_datetime", "value", "method", "inputs")
    }
    errors: dict[str, list[float]] = defaultdict(list)
    missing = 0
    for gap in (t for t in truth if t["kind"] == "gap"):
        naive = gap["before_wh"] / 1000
        for at, wh in gap["intervals"]:
            true = wh / 1000
            estimate = current.get((gap["gid"], at))
            if estimate is None:
                missing += 1
                continue
            value, method, inputs = estimate
            if values_out is not None:
                values_out[(gap["gid"], at)] = (float(value), true)
            errors["stored"].append(abs(float(value) - true))
            errors[f"stored:{method}"].append(abs(float(value) - true))
            unscaled = inputs.get("unscaled", float(value))
            errors["unscaled"].append(abs(float(unscaled) - true))
            errors["naive"].append(abs(naive - true))
    summary = {name: (sum(v) / len(v), len(v)) for name, v in errors.items() if v}
    summary["not estimated"] = (0.0, missing)
    return summary


def methods_compared(truth: list[dict]) -> dict[str, float]:
    """MAE of every planted gap estimated by each method in turn (rolled back after)."""
    from django.db import transaction

    from apps.vee.models import ValidationException
    from apps.vee.services.estimation import estimates_make

    gaps = ValidationException.objects.filter(rule__rule_type="gap")
    out, values = {}, {}
    for method in ("linear", "like_day", "flat_fill"):  # each scaled to the register delta
        values[method] = {}
        with transaction.atomic():
            estimates_make(exceptions=gaps, method=method, actor=None, audit=False)
            out[method] = estimation_error(truth, values[method])["stored"][0]
            transaction.set_rollback(True)
    blend = [
        abs((v + values["like_day"][k][0]) / 2 - t)
        for k, (v, t) in values["linear"].items()
        if k in values["like_day"]
    ]
    out["blend"] = sum(blend) / len(blend)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--planted-days", type=int, default=14)
    parser.add_argument("--per-day", type=float, default=0.08, help="rate of each anomaly kind")
    parser.add_argument(
        "--relay-open", type=float, default=0.01, help="share of meters with the relay open"
    )
    parser.add_argument("--batch", type=int, default=50, help="devices per request")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the MDC)")
    parser.add_argument(
        "--end",
        type=dt.date.fromisoformat,
        help="the day after the last one (YYYY-MM-DD, Pakistan): default today",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--show-slow", action="store_true", help="statements over 0.2 s")
    args = parser.parse_args()

    from apps.udil.timefmt import PKT

    now = dt.datetime.now(PKT).replace(microsecond=0)
    if args.end:  # the simulator serves any time before its clock: an earlier end is history
        now = dt.datetime.combine(args.end, dt.time(10), tzinfo=PKT)
    today = now.replace(hour=0, minute=0, second=0)
    since = today - dt.timedelta(days=args.days)
    plan_start = today - dt.timedelta(days=args.planted_days)
    rate = args.per_day
    plan = {
        "start": plan_start.isoformat(),
        "end": today.isoformat(),
        "gap_per_day": rate,
        "spike_per_day": rate,
        "rollback_per_day": rate,
        "zero_per_day": rate,
        "stuck_per_day": rate / 2,
        "clock_per_day": rate / 2,
        "relay_open_meters": args.relay_open,
    }
    os.environ["MDM_SIMULATOR_ANOMALIES"] = json.dumps({})  # the MDC's own plan, not a default
    os.environ["MDM_VEE_VALIDATE_AFTER_INGESTION"] = "0"  # validated here, timed apart
    admin_url, bench_url = database_urls()
    database_run(admin_url, f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
    database_run(admin_url, f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ["REDIS_URL"] = redis_url()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.simulator import anomalies
    from apps.simulator import generator as gen
    from apps.warehouse.services import partitions_ensure

    server = None
    try:
        call_command("migrate", verbosity=0)
        partitions_ensure(start=since.date(), months_ahead=2)
        port = free_port()
        rows_per_day = args.meters * 96
        print(
            f"size: {args.meters} meters x {args.days} days of 15-minute load profile "
            f"(~{rows_per_day * args.days:,} rows), anomalies planted in the last "
            f"{args.planted_days} days at {rate} per meter-day of each kind; "
            f"{os.cpu_count()} CPUs shared with the simulated MDC",
            flush=True,
        )
        sim, sim_meters, mdc = fleet_create(
            meters=args.meters,
            days=args.days,
            base_url=f"http://127.0.0.1:{port}",
            now=now,
            batch=args.batch,
            plan=plan,
        )
        connection.close()
        server = server_start(port, args.workers)

        last_day = today - dt.timedelta(days=1)
        # the reading stamped 00:00 closes the day before: the first pull takes it, so the
        # second one brings (and validates) the last day alone
        bulk_run, bulk_ingest = pull(mdc, since, last_day + dt.timedelta(minutes=1))
        bulk_validation, bulk_validate = validate(bulk_run, show_slow=args.show_slow)
        with connection.cursor() as cursor:  # autovacuum's work by the next pull, done now
            cursor.execute("ANALYZE warehouse_load_profile")
        day_run, day_ingest = pull(mdc, since, today)
        day_validation, day_validate = validate(day_run, show_slow=args.show_slow)

        truth = []
        for meter in sim_meters:
            spec = gen.spec_of(meter, sim)
            truth += anomalies.ground_truth(
                spec, int(since.timestamp()), int(today.timestamp()), int(now.timestamp())
            )

        print()
        print("cost                                   rows      seconds     rows/s")
        for label, rows, seconds in (
            (f"ingest {args.days - 1} days (HTTP -> warehouse)", bulk_run.rows_received,
             bulk_ingest),
            (f"validate+estimate those {args.days - 1} days", bulk_validation.intervals,
             bulk_validate),
            ("ingest the last day", day_run.rows_received, day_ingest),
            ("validate+estimate the last day", day_validation.intervals, day_validate),
        ):  # fmt: skip
            print(f"{label:<36} {rows:>9,} {seconds:>10.2f} {rows / seconds:>10,.0f}")
        print(
            f"ratio validate/ingest: last day {day_validate / day_ingest:.2f}, "
            f"{args.days - 1} days {bulk_validate / bulk_ingest:.2f} (target <= 0.5)"
        )
        print(
            f"validation runs: {bulk_validation.found + day_validation.found} exceptions, "
            f"{bulk_validation.estimated + day_validation.estimated} intervals estimated"
        )

        print()
        print("rule               planted    found  matched  precision  recall")
        for kind, planted, found, matched, precision, recall in accuracy(truth):
            print(
                f"{kind:<18} {planted:>7} {found:>8} {matched:>8} {precision:>10.3f} {recall:>7.3f}"
            )
        print("(target: precision and recall >= 0.95)")

        print()
        errors = estimation_error(truth)
        naive = errors.get("naive", (float("nan"), 0))[0]
        print("estimation of planted gaps          MAE kWh   intervals   vs naive")
        for name, (mae, count) in sorted(errors.items()):
            ratio = f"{mae / naive:.2f}" if naive and name != "not estimated" else ""
            print(f"{name:<36} {mae:>8.4f} {count:>10} {ratio:>10}")
        print("(stored = as used downstream; naive = carry the last value forward; target <= 0.5)")
        for method, mae in methods_compared(truth).items():
            print(f"every gap by {method:<23} {mae:>8.4f} {'':>10} {mae / naive:>10.2f}")
    finally:
        if server is not None:
            server_stop(server)
        connection.close()
        if not args.keep_database:
            database_run(admin_url, f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
