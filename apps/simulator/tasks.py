"""The simulator's tick (beat, when the simulator is on): simulated flat-file MDCs deliver the
rows they stored since their last delivery."""

from __future__ import annotations

from celery import shared_task

from apps.simulator.files import sim_files_deliver_all


@shared_task(name="simulator.files_deliver")
def files_deliver() -> int:
    """Write every simulated flat-file MDC's new deliveries; returns the files written."""
    return sim_files_deliver_all()
