"""What the engine itself does at an ``effect`` step (named in ``procedures.py``).

Each function takes the order and the step's ``effect_args`` and returns a result to record,
or raises :class:`StepStopped` with the reason the order cannot go on (a person decides).
Registry changes go through the registry's services (audited there).
"""

from __future__ import annotations

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


EFFECTS = {
    "consumer_status": consumer_status,
    "meter_release": meter_release,
    "arrears_check": arrears_check,
    "meter_swap": meter_swap,
}
