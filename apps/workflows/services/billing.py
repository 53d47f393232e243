"""The engine's billing step (CP10): the order's reading cycle run started with the acting
user's authority, computed by a worker (``apps.billing.tasks.compute_run``, acks late, so a
worker lost mid-run hands it to the next; a task that is not handed on, killed by the hard time
limit say, leaves the run without progress, and billing's stale sweep fails it), and judged from
the run's state in the database: a failed run stops the order, which may be tried again."""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import PermissionDenied

from apps.workflows.choices import StepState, WorkOrderState


def billing_run_send(order, step, now, stop) -> bool:
    """Start the order's billing run. False (and the order stopped) if it could not be."""
    from apps.billing.roles import RUN_PERMISSION
    from apps.billing.services import BillingRefused
    from apps.billing.services.runs import run_start

    actor = order.acting_user
    try:
        if not (actor is not None and actor.has_perm(RUN_PERMISSION)):
            who = actor.get_username() if actor is not None else "nobody"
            raise PermissionDenied(f"{who} may not start billing runs ({RUN_PERMISSION}).")
        run = run_start(cycle=order.cycle, actor=actor)
    except (PermissionDenied, BillingRefused) as exc:
        stop(order, step, f"the billing run could not be started: {exc}", now)
        return False
    order.billing_run, order.state = run, WorkOrderState.WAITING
    order.save()
    step.state, step.attempts = StepState.WAITING, step.attempts + 1
    step.started_at = step.started_at or now
    step.result = {"billing_run": run.pk}
    step.save()
    return True


def billing_run_judge(order, step, now, stop, done) -> bool | None:
    """None while the run is computed; True once it is ready (its exceptions counted)."""
    from apps.billing.choices import RunStatus

    run = order.billing_run
    run.refresh_from_db()
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    # whose run it was (the step is the run, computed with their authority), done or failed
    step.performed_by = run.started_by
    step.performed_by_name = run.started_by.get_username() if run.started_by else ""
    if run.status == RunStatus.FAILED:
        stop(order, step, f"billing run #{run.pk} failed: {run.error[:300]}", now)
        return False
    exceptions = Counter(
        code for codes in run.determinants.values_list("discrepancies", flat=True) for code in codes
    )
    done(
        step,
        now,
        {
            "billing_run": run.pk,
            "determinants": run.consumers_done,
            "exceptions": dict(sorted(exceptions.items())),
        },
    )
    return True
