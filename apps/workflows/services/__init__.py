"""Writes of the workflows app: the work-order engine. Keyword-only, atomic, audited.

::

    work_order_start         -> a WorkOrder (for a consumer, or CP10 for a reading cycle) and its
                                steps from the procedure table, then advance
    work_order_step_approve  -> an approval step by a person holding its permission
    work_order_step_perform  -> a manual step recorded by a person holding its permission, or a
                                stopped order's failed step tried again
    work_order_advance       -> (worker, beat tick) moves an order on from the database's state:
                                effects applied, commands sent, finished commands judged
    work_order_cancel        -> ends an order that is not finished

The engine never keeps anything in memory: ``work_order_advance`` looks at the current step's
state and its command request, so running it twice, or in another process after a restart,
does the same thing once.

By concern: ``start`` (starting orders), ``people`` (approvals, manual steps, retries,
cancels), ``engine`` (the advance), its steps ``commands``, ``billing`` and ``effects``, and
``base`` (what they share). Callers import the services from this package.
"""

from apps.workflows.services.engine import work_order_advance, work_orders_due_enqueue
from apps.workflows.services.people import (
    work_order_cancel,
    work_order_step_approve,
    work_order_step_perform,
)
from apps.workflows.services.start import work_order_start, work_orders_bulk_start

__all__ = [
    "work_order_advance",
    "work_order_cancel",
    "work_order_start",
    "work_order_step_approve",
    "work_order_step_perform",
    "work_orders_bulk_start",
    "work_orders_due_enqueue",
]
