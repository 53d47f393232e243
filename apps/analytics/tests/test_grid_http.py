"""Energy balance against the simulator's truth: a simulated MDC with planted thieves and a
feeder meter (apps.simulator.grid), pulled over real HTTP through the ingestion pipeline, rolled
up by the task after the pull; the balance's loss is the simulator's technical loss plus stolen
energy, within 1 %, and the thieves are the suspects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.analytics.selectors import energy_balance
from apps.analytics.services.rollups import input_meter_assign
from apps.analytics.suspects import suspects_rank
from apps.analytics.tasks import rollup_ingested
from apps.ingestion.services import pull_run
from apps.ingestion.tests.conftest import registered_mdc
from apps.registry.models import Meter
from apps.registry.tests.factories import TransformerFactory
from apps.simulator import grid
from apps.simulator.testing import freeze_clock, make_sim_mdc
from apps.udil.timefmt import PKT

NOW = dt.datetime(2022, 6, 15, 12, 7, tzinfo=PKT)  # no other test pulls these days
THEFT = dt.datetime(2022, 6, 13, 0, 0, tzinfo=PKT)
END = dt.datetime(2022, 6, 15, 0, 0, tzinfo=PKT)


@pytest.mark.django_db(transaction=True)
def test_feeder_balance_equals_the_simulators_truth(live_server, monkeypatch, settings):
    freeze_clock(monkeypatch, NOW)
    sim, meters = make_sim_mdc(code="an_grid", meters=7, days=4, seed=5, now=NOW)
    feeder_gid = meters[0].global_device_id
    settings.SIMULATOR_GRID = {
        "an_grid": {"start": THEFT.isoformat(), "thief_share": 0.3, "metered_share": 0.25,
                    "technical_loss": 0.05, "feeder_meter": feeder_gid, "seed": 3}
    }  # fmt: skip
    grid.clear_caches()
    mdc = registered_mdc(live_server, sim, meters)
    transformer = TransformerFactory()
    Meter.objects.filter(mdc=mdc).exclude(global_device_id=feeder_gid).update(
        transformer=transformer
    )
    input_meter_assign(
        actor=None, meter=Meter.objects.get(global_device_id=feeder_gid), feeder=transformer.feeder
    )
    run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile", since=sim.history_start, until=END)
    assert run.error == "" and run.rows_inserted > 0, run.error
    assert rollup_ingested.apply(args=[run.pk]).get() > 0

    truth = grid.truth("an_grid", int(THEFT.timestamp()), int(END.timestamp()),
                       int(NOW.timestamp()))  # fmt: skip
    assert truth["thieves"] and truth["stolen_kwh"] > 0
    start, end = THEFT.date(), END.date() - dt.timedelta(days=1)
    [balance] = energy_balance(level="feeder", start=start, end=end)
    true_loss = truth["input_kwh"] - truth["metered_kwh"]
    assert abs(balance.input_kwh - truth["input_kwh"]) <= truth["input_kwh"] / 100
    assert abs(balance.loss_kwh - true_loss) <= truth["input_kwh"] / 100
    # the loss is more than the technical 5 %: stolen energy
    assert balance.loss_pct > Decimal(5)
    # the planted thieves are the suspects, each for the drop of its metered use
    settings.ANALYTICS_BASELINE_DAYS = 2
    ranked = suspects_rank(start=start, end=end)
    assert {s.global_device_id for s in ranked if "drop" in s.reason_codes} == set(
        truth["thieves"]
    )
    grid.clear_caches()
