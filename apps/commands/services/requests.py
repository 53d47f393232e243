"""Creating, approving, rejecting and releasing command requests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.audit.services import audit_record
from apps.commands.choices import ON_DEMAND_COMMANDS, Outcome, RequestState, TransactionState
from apps.commands.models import CommandDevice, CommandRequest, CommandTransaction
from apps.registry.models import Mdc, Meter
from apps.udil.profiles import get_profile

from ._shared import (
    APPROVE_PERMISSION,
    SEND_PERMISSION,
    _actor_name,
    _enqueue_dispatch,
    _require,
    transactionid_new,
)
from .params import _is_two_person, params_validate, two_person_recent


class FanOut(NamedTuple):
    """What :func:`_fan_out` created: device rows, and the MDCs they are spread over."""

    devices: int
    mdcs: int


def _meters_queryset(meters) -> models.QuerySet:
    """A Meter queryset from a queryset, or from meter ids or global device ids."""
    if isinstance(meters, models.QuerySet):
        return meters.order_by()
    items = list(meters)
    ids = [m for m in items if isinstance(m, int)]
    gdids = [m.strip() for m in items if isinstance(m, str) and m.strip()]
    objs = [m.pk for m in items if isinstance(m, Meter)]
    qs = Meter.objects.filter(Q(pk__in=ids + objs) | Q(global_device_id__in=gdids))
    if gdids:
        found = set(
            qs.filter(global_device_id__in=gdids).values_list("global_device_id", flat=True)
        )
        missing = [g for g in gdids if g not in found]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise ValidationError({"meters": f"{len(missing)} unknown device ids: {shown}"})
    return qs.order_by()


def _single_device_mdcs(command: str, mdc_ids) -> list[int]:
    """MDCs whose profile carries this command one device per request (3.3's on-demand reads)."""
    return [
        pk
        for pk, name in Mdc.objects.filter(pk__in=mdc_ids).values_list("pk", "udil_profile")
        if get_profile(name).service(command).max_devices == 1
    ]


def _transactions_create(
    request: CommandRequest, per_mdc: dict[int, int], single: list[int]
) -> None:
    """One transaction per MDC and batch of ``mdc.batch_size`` meters (one meter each for the
    MDCs in ``single``)."""
    batch_sizes = dict(Mdc.objects.filter(pk__in=per_mdc).values_list("pk", "batch_size"))
    txs = []
    for mdc_id, count in sorted(per_mdc.items()):
        size = 1 if mdc_id in single else max(1, batch_sizes[mdc_id])
        for index, start in enumerate(range(0, count, size)):
            txs.append(
                CommandTransaction(
                    request=request,
                    mdc_id=mdc_id,
                    batch_index=index,
                    transactionid=transactionid_new(),
                    device_count=min(size, count - start),
                )
            )
    CommandTransaction.objects.bulk_create(txs, batch_size=2000)


def _devices_create(request: CommandRequest, meters: models.QuerySet, single: list[int]) -> int:
    """One INSERT ... SELECT of the device rows, each in its MDC's batch (the same order,
    global_device_id, as the transactions were counted in)."""
    meter_sql, meter_params = meters.values("pk").query.sql_with_params()
    device_table = CommandDevice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {device_table} (request_id, transaction_id, meter_id, global_device_id,
                msn, request_cancelled, cancel_reason, message, outcome)
            SELECT %s, t.id, x.id, x.global_device_id, x.msn, false, '', '', %s
            FROM (
                SELECT m.id, m.global_device_id, m.msn, m.mdc_id,
                       (row_number() OVER (PARTITION BY m.mdc_id ORDER BY m.global_device_id)
                        - 1) / (CASE WHEN c.id = ANY(%s) THEN 1 ELSE c.batch_size END)
                       AS batch
                FROM {Meter._meta.db_table} m
                JOIN {Mdc._meta.db_table} c ON c.id = m.mdc_id
                WHERE m.id IN ({meter_sql})
            ) x
            JOIN {CommandTransaction._meta.db_table} t
              ON t.request_id = %s AND t.mdc_id = x.mdc_id AND t.batch_index = x.batch
            """,
            [request.pk, Outcome.PENDING, single, *meter_params, request.pk],
        )
        return cursor.rowcount


def _fan_out(request: CommandRequest, meters: models.QuerySet) -> FanOut:
    """Create the request's transactions (per MDC, per batch of ``mdc.batch_size``) and its
    device rows, in a few statements whatever the number of meters."""
    per_mdc = dict(meters.values("mdc_id").annotate(n=Count("id")).values_list("mdc_id", "n"))
    single = _single_device_mdcs(request.command, per_mdc)
    _transactions_create(request, per_mdc, single)
    return FanOut(devices=_devices_create(request, meters, single), mdcs=len(per_mdc))


def _profiles_of_meters(meters: models.QuerySet) -> list[str]:
    """The UDIL profiles of the MDCs these meters are registered at (the command is validated
    for each; none when no meter is chosen, which is refused later)."""
    return sorted(
        set(
            Mdc.objects.filter(pk__in=meters.values("mdc_id")).values_list(
                "udil_profile", flat=True
            )
        )
    )


def _two_person_recent_locked(*, actor, now: datetime) -> int:
    """The requester's recent disconnects, counted one request at a time: a lock on their
    user row, so two sent at the same moment cannot both see the other as not there yet.
    Counted before the new request exists (it is not part of its own window)."""
    list(get_user_model().objects.select_for_update().filter(pk=actor.pk).values("pk"))
    return two_person_recent(actor=actor, now=now)


def _request_settle(
    request: CommandRequest, fan: FanOut, *, approval: bool, recent: int, now: datetime
) -> None:
    """Counts, and the state the new request starts in: awaiting a second person, scheduled,
    or dispatching now."""
    if fan.devices == 0:
        raise ValidationError({"meters": "Choose at least one meter."})
    request.device_count, request.mdc_count = fan.devices, fan.mdcs
    request.approval_required = approval and fan.devices + recent > settings.TWO_PERSON_THRESHOLD
    if request.approval_required:
        request.state = RequestState.AWAITING_APPROVAL
    elif request.scheduled_at is not None and request.scheduled_at > now:
        request.state = RequestState.SCHEDULED
    else:
        request.dispatched_at = now
    request.save()


def _audit_create(*, actor, request: CommandRequest, wire: dict[str, str]) -> None:
    parent, scheduled_at = request.parent, request.scheduled_at
    audit_record(
        actor=actor,
        action="commands.request.create",
        target=request,
        summary=(
            f"{request.command_label} to {request.device_count} meters on "
            f"{request.mdc_count} MDCs"
            + (" (awaiting approval)" if request.approval_required else "")
            + (f" (retry of #{parent.pk})" if parent else "")
        ),
        detail={
            "command": request.command,
            "params": wire,
            "devices": request.device_count,
            "mdcs": request.mdc_count,
            "scheduled_at": scheduled_at.isoformat() if scheduled_at else None,
            "approval_required": request.approval_required,
        },
    )


@transaction.atomic
def command_request_create(
    *,
    actor,
    command: str,
    params: dict[str, Any],
    meters,
    scheduled_at: datetime | None = None,
    parent: CommandRequest | None = None,
    note: str = "",
) -> CommandRequest:
    """Ask for a command to a set of meters (a queryset, or meter ids / global device ids).

    The parameters are validated by the protocol package. A disconnect or deactivation of more
    than ``MDM_TWO_PERSON_THRESHOLD`` meters (with the requester's others in the rolling window,
    ``MDM_TWO_PERSON_WINDOW_MINUTES``) waits for a second person's approval; otherwise
    the request is dispatched when this transaction commits (or at ``scheduled_at``).
    """
    _require(actor, SEND_PERMISSION)
    qs = _meters_queryset(meters)
    wire = params_validate(command, params or {}, profiles=_profiles_of_meters(qs))
    if scheduled_at is not None and timezone.is_naive(scheduled_at):
        raise ValidationError({"scheduled_at": "Must include a time zone."})
    now = timezone.now()
    approval = _is_two_person(command, wire)
    recent = _two_person_recent_locked(actor=actor, now=now) if approval else 0
    request = CommandRequest.objects.create(
        command=command,
        on_demand_type=wire.get("type", "") if command in ON_DEMAND_COMMANDS else "",
        params=wire,
        requested_by=actor,
        requested_by_name=_actor_name(actor),
        scheduled_at=scheduled_at,
        parent=parent,
        note=note[:500],
        state=RequestState.DISPATCHING,
    )
    fan = _fan_out(request, qs)
    _request_settle(request, fan, approval=approval, recent=recent, now=now)
    if request.state == RequestState.DISPATCHING:
        _enqueue_dispatch(request.transactions.values_list("pk", flat=True))
    _audit_create(actor=actor, request=request, wire=wire)
    return request


def _release(request: CommandRequest, now: datetime) -> None:
    if request.scheduled_at is not None and request.scheduled_at > now:
        request.state = RequestState.SCHEDULED
        return
    request.state = RequestState.DISPATCHING
    request.dispatched_at = now
    _enqueue_dispatch(
        request.transactions.filter(state=TransactionState.PENDING).values_list("pk", flat=True)
    )


@transaction.atomic
def command_request_approve(*, actor, request: CommandRequest, note: str = "") -> CommandRequest:
    """Second person's approval (two-person rule): someone other than the requester, holding
    ``commands.approve_commandrequest``."""
    _require(actor, APPROVE_PERMISSION)
    request = CommandRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != RequestState.AWAITING_APPROVAL:
        raise ValidationError(f"Request #{request.pk} is not awaiting approval.")
    if request.requested_by_id == actor.pk:
        raise PermissionDenied("The two-person rule needs someone other than the requester.")
    now = timezone.now()
    request.decided_by, request.decided_by_name = actor, _actor_name(actor)
    request.decided_at, request.decision_note = now, note[:500]
    _release(request, now)
    request.save()
    audit_record(
        actor=actor,
        action="commands.request.approve",
        target=request,
        summary=f"Approved #{request.pk} {request.command_label} to {request.device_count} meters",
        detail={"note": note},
    )
    return request


@transaction.atomic
def command_request_reject(*, actor, request: CommandRequest, note: str = "") -> CommandRequest:
    """Refuse a request awaiting approval: nothing is sent."""
    _require(actor, APPROVE_PERMISSION)
    request = CommandRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != RequestState.AWAITING_APPROVAL:
        raise ValidationError(f"Request #{request.pk} is not awaiting approval.")
    now = timezone.now()
    reason = f"Rejected by {_actor_name(actor)}" + (f": {note}" if note else "")
    request.devices.filter(outcome=Outcome.PENDING).update(
        outcome=Outcome.CANCELLED, message=reason[:500], finished_at=now
    )
    request.transactions.update(state=TransactionState.DONE, finished_at=now)
    request.state = RequestState.REJECTED
    request.decided_by, request.decided_by_name = actor, _actor_name(actor)
    request.decided_at, request.decision_note, request.finished_at = now, note[:500], now
    request.save()
    audit_record(
        actor=actor,
        action="commands.request.reject",
        target=request,
        summary=f"Rejected #{request.pk} {request.command_label}",
        detail={"note": note},
    )
    return request


@transaction.atomic
def command_requests_release_due(*, now: datetime | None = None) -> int:
    """Release scheduled requests whose time has come. Returns how many."""
    now = now or timezone.now()
    due = list(
        CommandRequest.objects.select_for_update(skip_locked=True).filter(
            state=RequestState.SCHEDULED, scheduled_at__lte=now
        )
    )
    for request in due:
        _release(request, now)
        request.save(update_fields=["state", "dispatched_at"])
        audit_record(
            actor=None,
            action="commands.request.release",
            target=request,
            summary=f"Released scheduled #{request.pk} {request.command_label}",
        )
    return len(due)


def transactions_lost(*, now: datetime | None = None) -> list[int]:
    """Pending transactions of released requests that no dispatch has tried in time (a task lost
    with a broker or worker): their ids, to enqueue again. Dispatch is idempotent."""
    now = now or timezone.now()
    late = now - timedelta(seconds=settings.COMMAND_DISPATCH_GRACE_SECONDS)
    return list(
        CommandTransaction.objects.filter(
            state=TransactionState.PENDING,
            request__state__in=[RequestState.DISPATCHING, RequestState.IN_PROGRESS],
        )
        .filter(
            Q(next_attempt_at__lt=late)
            | Q(next_attempt_at__isnull=True, request__dispatched_at__lt=late)
        )
        .values_list("pk", flat=True)[:5000]
    )


def transactions_redispatch(*, transaction_ids: list[int]) -> None:
    """Enqueue dispatch again for these transactions (see :func:`transactions_lost`)."""
    with transaction.atomic():
        _enqueue_dispatch(transaction_ids)
