"""What the engine itself does at an ``effect`` step (named in ``procedures.py``).

Each function takes the order and the step's ``effect_args`` and returns a result to record,
or raises :class:`StepStopped` with the reason the order cannot go on (a person decides).
Registry changes go through the registry's services (audited there).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal


class StepStopped(Exception):
    """The step cannot be done; the message says why (shown on the order)."""


def consumer_status(order, *, status: str) -> dict:
    from apps.registry.services import consumer_update

    before = order.consumer.connection_status
    consumer_update(actor=None, consumer=order.consumer, connection_status=status)
    return {"connection_status": status, "before": before}


def meter_release(order) -> dict:
    """The meter leaves the consumer (returned to store); it stays registered, deactivated."""
    from apps.registry.services import meter_update

    meter_update(actor=None, meter=order.meter, consumer=None)
    return {"meter": order.meter.global_device_id, "consumer": None}


def meter_swap(order) -> dict:
    """CP7/CP9: the new meter takes the old one's place (consumer, transformer); the old one
    leaves the consumer. Billing joins both meters' readings by the order's dates."""
    from apps.registry.services import meter_update

    old, new = order.meter, order.new_meter
    meter_update(
        actor=None,
        meter=new,
        consumer=order.consumer,
        transformer=new.transformer or old.transformer,
    )
    meter_update(actor=None, meter=old, consumer=None)
    return {"old": old.global_device_id, "new": new.global_device_id}


def arrears_check(order) -> dict:
    """CP15: the consumer's latest bill in the billing mirror must have no arrears left."""
    from apps.billing.models import MirrorBill

    bill = MirrorBill.objects.filter(consumer=order.consumer).order_by("-month", "-id").first()
    if bill is None:
        return {"mirror": "no bill in the billing mirror"}
    if bill.arrears > Decimal(0):
        raise StepStopped(
            f"Arrears of Rs {bill.arrears} outstanding on the {bill.month:%Y-%m} bill "
            "in the billing mirror."
        )
    return {"bill_month": f"{bill.month:%Y-%m}", "arrears": str(bill.arrears)}


# --- billing's part (apps.billing.services.continuity and runs) ------------------------------


def _reading_at(order, key: str, *, required: bool = True) -> dt.datetime | None:
    """When the reading of the order's step ``key`` was taken (its billing registers' time)."""
    text = order.steps.get(key=key).result.get("meter_datetime")
    if text:
        return dt.datetime.fromisoformat(text)
    if required:
        raise StepStopped(
            f"The {key.replace('_', ' ')} brought no billing registers (the MDC had none in "
            "the window): read the meter again, then try this step again."
        )
    return None


def _billing(call, **kwargs):
    from apps.billing.services import BillingRefused

    try:
        return call(**kwargs)
    except BillingRefused as exc:
        raise StepStopped(str(exc)) from exc


def final_determinant(order) -> dict:
    """CP4/CP14: the consumer's final determinant, from the batch's last cycle to the final
    reading (a final run, left for review on the billing pages)."""
    from apps.billing.services.continuity import final_run_compute

    at = _reading_at(order, "final_reading")
    run = _billing(final_run_compute, actor=order.acting_user, consumer=order.consumer, at=at)
    type(order).objects.filter(pk=order.pk).update(billing_run=run)
    order.billing_run = run
    det = run.determinants.first()
    if det is None:
        raise StepStopped(f"Final run #{run.pk} has no determinant of {order.consumer}.")
    return {
        "billing_run": run.pk,
        "previous_total": str(det.previous_total),
        "present_total": str(det.present_total),
        "units_total": str(det.units_total),
        "discrepancies": list(det.discrepancies),
    }


def first_cycle(order) -> dict:
    """CP2/CP8: the new consumer's billing account in a reading batch, its first cycle."""
    from apps.billing.services.continuity import first_cycle_assign

    return _billing(
        first_cycle_assign, actor=order.acting_user, consumer=order.consumer, meter=order.meter
    )


def billing_continuity(order) -> dict:
    """CP7/CP9: the cycle spanning the change bills the old meter up to its final reading and
    the new meter from its initial reading (the swap's time when it brought none)."""
    from apps.billing.services.continuity import meter_change_record

    swapped = order.steps.get(key="meter_swap").finished_at
    final_at = _reading_at(order, "final_reading")
    initial_at = _reading_at(order, "initial_reading", required=False) or swapped
    change = meter_change_record(
        actor=order.acting_user,
        consumer=order.consumer,
        old_meter=order.meter,
        new_meter=order.new_meter,
        final_reading_at=final_at,
        initial_reading_at=initial_at,
        work_order_id=order.pk,
    )
    return {
        "meter_change": change.pk,
        "final_reading_at": final_at.isoformat(),
        "initial_reading_at": initial_at.isoformat(),
    }


def cycle_reading(order) -> dict:
    """CP6: when the starter asked, the reading becomes the consumer's cycle reading."""
    from apps.billing.services.continuity import cycle_reading_set

    if not order.options.get("cycle_reading"):
        return {"asked": False}
    chosen = _billing(
        cycle_reading_set,
        actor=order.acting_user,
        consumer=order.consumer,
        meter=order.meter,
        meter_datetime=_reading_at(order, "reading"),
        work_order_id=order.pk,
    )
    return {"asked": True, "cycle": str(chosen.cycle), "cycle_id": chosen.cycle_id}


def billing_run_approve(order) -> dict:
    """CP10: the run approved and locked with the Billing Control Section's authority."""
    from apps.billing.choices import RunStatus
    from apps.billing.services.runs import run_approve

    run = order.billing_run
    run.refresh_from_db()
    if run.status != RunStatus.APPROVED:
        run = _billing(run_approve, run=run, actor=order.acting_user)
    return {"billing_run": run.pk, "approved_by": getattr(run.approved_by, "username", None)}


def billing_run_export(order) -> dict:
    """CP10: the locked run in the billing system's drop directory (written at approval when
    ``MDM_BILLING_DROP_DIR`` is set); without one, its CSV export is recorded with its digest."""
    from apps.billing.choices import ExportFormat
    from apps.billing.services.exports import export_record, export_write

    run = order.billing_run
    exports = list(run.exports.order_by("pk"))
    if not exports:
        sink = _DigestSink()
        sha256, size, rows = export_write(run=run, export_format=ExportFormat.CSV, out=sink)
        exports = [
            export_record(
                run=run,
                export_format=ExportFormat.CSV,
                actor=order.acting_user,
                sha256=sha256,
                size=size,
                rows=rows,
            )
        ]
    return {
        "billing_run": run.pk,
        "exports": [
            {"format": e.export_format, "sha256": e.sha256, "rows": e.rows, "path": e.path}
            for e in exports
        ],
    }


class _DigestSink:
    """A binary file that keeps nothing (export_write digests what it writes)."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


EFFECTS = {
    "consumer_status": consumer_status,
    "meter_release": meter_release,
    "arrears_check": arrears_check,
    "meter_swap": meter_swap,
    "final_determinant": final_determinant,
    "first_cycle": first_cycle,
    "billing_continuity": billing_continuity,
    "cycle_reading": cycle_reading,
    "billing_run_approve": billing_run_approve,
    "billing_run_export": billing_run_export,
}
