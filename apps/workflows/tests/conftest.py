"""Work orders against the embedded simulator over real HTTP (``live_server``): consumers with
meters placed in a subdivision, the simulator as their MDC; Celery tasks run in the test's
process (``task.apply``), as a worker would run them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apps.commands.choices import TransactionState
from apps.commands.models import CommandTransaction
from apps.commands.services import transactions_poll
from apps.commands.tasks import command_dispatch_task
from apps.registry.models import Consumer, Mdc, Meter
from apps.simulator.models import SimMdc, SimMeter
from apps.simulator.testing import make_sim_mdc, sim_base_url
from apps.workflows.models import WorkOrder
from apps.workflows.services import work_orders_due_enqueue
from apps.workflows.tasks import work_order_advance_task


@dataclass
class Env:
    sim: SimMdc
    mdc: Mdc
    meters: list[Meter]
    consumers: list[Consumer]

    def sim_meter(self, meter: Meter) -> SimMeter:
        return SimMeter.objects.get(mdc=self.sim, global_device_id=meter.global_device_id)


@pytest.fixture
def wf_env(live_server):
    from apps.registry.models import Circle, Disco, Division, Feeder, Subdivision, Transformer

    def make(
        code: str = "wfa", meters: int = 2, subdivision: str = "SD1", days: int = 1, **settings
    ) -> Env:
        sim, fleet = make_sim_mdc(code=code, meters=meters, days=days, **settings)
        mdc = Mdc.objects.create(
            code=code,
            name=f"Registry view of {code}",
            base_url=sim_base_url(live_server, sim),
            username=sim.username,
            password=sim.password,
            auth_code=sim.auth_code,
        )
        disco, _ = Disco.objects.get_or_create(code="D", defaults={"name": "Disco"})
        circle, _ = Circle.objects.get_or_create(disco=disco, code="C", defaults={"name": "C"})
        division, _ = Division.objects.get_or_create(
            circle=circle, code="V", defaults={"name": "V"}
        )
        sub, _ = Subdivision.objects.get_or_create(
            division=division, code=subdivision, defaults={"name": subdivision}
        )
        feeder, _ = Feeder.objects.get_or_create(
            subdivision=sub, code=f"F{subdivision}", defaults={"name": "F"}
        )
        transformer, _ = Transformer.objects.get_or_create(
            feeder=feeder, code=f"T{subdivision}", defaults={"name": "T"}
        )
        consumers, registered = [], []
        for m in fleet:
            consumer = Consumer.objects.create(reference_no=f"R{m.msn}", name=f"Consumer {m.msn}")
            consumers.append(consumer)
            registered.append(
                Meter.objects.create(
                    global_device_id=m.global_device_id,
                    msn=m.msn,
                    mdc=mdc,
                    consumer=consumer,
                    transformer=transformer,
                )
            )
        return Env(sim=sim, mdc=mdc, meters=registered, consumers=consumers)

    yield make
    from mdm.celery import app

    app.control.purge()  # tasks enqueued on commit: no worker consumes them here


def run_commands(mdc_ids) -> None:
    """A worker's part: send pending transactions, then poll each MDC once."""
    for tx in CommandTransaction.objects.filter(state=TransactionState.PENDING).order_by("pk"):
        command_dispatch_task.apply(args=[tx.pk]).get()
    for mdc_id in mdc_ids:
        transactions_poll(mdc_id=mdc_id, due_only=False)


def drive(*orders: WorkOrder, rounds: int = 10) -> None:
    """Run commands and the beat tick until no order waits on a command (or rounds run out)."""
    mdc_ids = sorted({o.meter.mdc_id for o in orders if o.meter_id})
    for _ in range(rounds):
        run_commands(mdc_ids)
        due = work_orders_due_enqueue()
        for order_id in due:
            work_order_advance_task.apply(args=[order_id]).get()
        if not due:
            break
    for order in orders:
        order.refresh_from_db()
