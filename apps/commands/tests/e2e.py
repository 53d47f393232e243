"""Helpers of the commands' end-to-end tests: a simulated MDC registered over live HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from apps.commands.choices import TransactionState
from apps.commands.models import CommandRequest
from apps.commands.services import (
    mdc_client_for,
    transactions_poll,
)
from apps.commands.tasks import command_dispatch_task
from apps.registry.models import Mdc, Meter
from apps.simulator.models import SimMdc, SimMeter
from apps.simulator.testing import make_sim_mdc, sim_base_url


@dataclass
class Env:
    sim: SimMdc
    mdc: Mdc
    meters: list[Meter]

    def sim_meter(self, meter: Meter) -> SimMeter:
        return SimMeter.objects.get(mdc=self.sim, global_device_id=meter.global_device_id)

    def visuals(self, meter: Meter) -> dict:
        rows = mdc_client_for(self.mdc).read("meter_visuals", [meter.global_device_id])
        assert len(rows) == 1
        return rows[0]


def sim_registered(
    live_server, code: str, meters: int, *, mdc_fields: dict | None = None, **settings
) -> Env:
    """A simulated MDC (``settings`` for the simulator) with ``meters`` meters, and its registry
    view (``mdc_fields`` more) holding the same meters, served over live HTTP."""
    sim, fleet = make_sim_mdc(code=code, meters=meters, days=1, **settings)
    mdc = Mdc.objects.create(
        code=code,
        name=f"Registry view of {code}",
        base_url=sim_base_url(live_server, sim),
        username=sim.username,
        password=sim.password,
        auth_code=sim.auth_code,
        **(mdc_fields or {}),
    )
    registered = Meter.objects.bulk_create(
        [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in fleet]
    )
    return Env(sim=sim, mdc=mdc, meters=registered)


def dispatch_all(request: CommandRequest) -> list[str]:
    """Run the dispatch task of every pending transaction, as a worker would."""
    txs = request.transactions.filter(state=TransactionState.PENDING).order_by("pk")
    return [command_dispatch_task.apply(args=[tx.pk]).get() for tx in txs]


def poll(env: Env):
    return transactions_poll(mdc_id=env.mdc.pk, due_only=False)


def outcomes(request: CommandRequest) -> dict[str, str]:
    return dict(request.devices.values_list("global_device_id", "outcome"))
