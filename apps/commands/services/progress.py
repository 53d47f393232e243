"""Requests' state: a request is closed once none of its devices is pending."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from apps.commands.choices import Outcome, RequestState
from apps.commands.models import CommandDevice, CommandRequest

_OPEN_STATES = (
    RequestState.AWAITING_APPROVAL,
    RequestState.SCHEDULED,
    RequestState.DISPATCHING,
    RequestState.IN_PROGRESS,
)


def _final_state(by_outcome: dict[str, int]) -> str:
    """The state of a request whose devices are all final, from its outcome counts."""
    total = sum(by_outcome.values())
    executed = by_outcome.get(Outcome.EXECUTED, 0)
    if total and executed == total:
        return RequestState.COMPLETED
    if total and by_outcome.get(Outcome.CANCELLED, 0) == total:
        return RequestState.CANCELLED
    if executed:
        return RequestState.COMPLETED_WITH_ERRORS
    return RequestState.FAILED


def _requests_refresh(request_ids: Iterable[int], now: datetime) -> None:
    """Close requests with no pending device left: completed, completed with errors, failed or
    cancelled. One grouped query for all of them. Must run inside the caller's transaction,
    after its writes (it locks the requests)."""
    ids = set(request_ids)
    if not ids:
        return
    # Lock the requests (in id order, so concurrent callers never deadlock) before counting:
    # two MDCs' polls applied at the same moment each see the other's devices as pending under
    # READ COMMITTED; with the lock the second waits for the first's commit and then counts
    # what is really in the database, so the last apply always closes the request.
    ids = set(
        CommandRequest.objects.select_for_update()
        .filter(pk__in=ids, state__in=_OPEN_STATES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    still_pending = set(
        CommandDevice.objects.filter(request_id__in=ids, outcome=Outcome.PENDING)
        .values_list("request_id", flat=True)
        .order_by()
        .distinct()
    )
    done = ids - still_pending
    if not done:
        return
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for request_id, outcome, n in (
        CommandDevice.objects.filter(request_id__in=done)
        .values_list("request_id", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[request_id][outcome] = n
    for request_id in done:
        CommandRequest.objects.filter(pk=request_id).update(
            state=_final_state(counts[request_id]), finished_at=now
        )


@transaction.atomic
def command_requests_close_finished(*, now: datetime | None = None) -> int:
    """The periodic sweep (beat tick): close every open request that has no pending device
    left, whatever poll or crash left it open. Returns how many were looked at."""
    now = now or timezone.now()
    ids = list(
        CommandRequest.objects.filter(
            state__in=[RequestState.DISPATCHING, RequestState.IN_PROGRESS],
            dispatched_at__lt=now,
        )
        .exclude(devices__outcome=Outcome.PENDING)
        .values_list("pk", flat=True)[:1000]
    )
    _requests_refresh(ids, now)
    return len(ids)
