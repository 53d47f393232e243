"""Celery tasks of the workflows app: thin, take ids, safe to run twice (the engine works from
the database's state, so a restarted worker or a second copy does the same thing once)."""

from __future__ import annotations

from celery import shared_task

from apps.workflows import services


@shared_task(acks_late=True)
def work_order_advance_task(order_id: int) -> str:
    return services.work_order_advance(order_id=order_id).state


@shared_task
def workflows_tick() -> dict:
    """Beat: enqueue the advance of every order whose command request has become final."""
    return {"advanced": len(services.work_orders_due_enqueue())}
