"""Writes of the conformance bench: start a run (audited, enqueued on commit) and execute it
(the worker's side: every check recorded with its verdict and evidence as it finishes)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.audit.services import audit_record
from apps.conformance.catalogue import catalogue, write_commands
from apps.conformance.choices import CheckOutcome, RunState
from apps.conformance.models import ConformanceCheck, ConformanceRun

log = logging.getLogger(__name__)

RUN_PERMISSION = "conformance.add_conformancerun"
MAX_METERS = 10


def _profile(mdc):
    from apps.udil.errors import UdilError
    from apps.udil.profiles import get_profile

    try:
        return get_profile(mdc.udil_profile)
    except UdilError as exc:
        raise ValidationError({"mdc": str(exc)}) from exc


def conformance_run_create(
    *, actor, mdc, device_ids: list[str], commands: list[str] | None = None
) -> ConformanceRun:
    """Queue a conformance run of an API MDC on the meters the administrator picked (1 to
    MAX_METERS of that MDC's registered meters: write commands are real). ``commands``: the
    write commands to send (None: every one of the profile)."""
    from apps.registry.choices import Transport
    from apps.registry.models import Meter

    if not getattr(actor, "has_perm", None) or not actor.has_perm(RUN_PERMISSION):
        raise PermissionDenied("Only administrators run the conformance suite.")
    if mdc.transport != Transport.API or not mdc.base_url:
        raise ValidationError({"mdc": "The conformance suite runs against API MDCs only."})
    profile = _profile(mdc)
    ids = list(dict.fromkeys(str(d).strip() for d in device_ids if str(d).strip()))
    if not ids:
        raise ValidationError({"device_ids": "Pick at least one meter of this MDC."})
    if len(ids) > MAX_METERS:
        raise ValidationError({"device_ids": f"Pick at most {MAX_METERS} meters."})
    known = set(
        Meter.objects.filter(mdc=mdc, global_device_id__in=ids).values_list(
            "global_device_id", flat=True
        )
    )
    if unknown := [d for d in ids if d not in known]:
        raise ValidationError(
            {"device_ids": f"Not meters of {mdc.code}: {', '.join(unknown[:10])}."}
        )
    allowed = write_commands(profile)
    chosen = allowed if commands is None else list(dict.fromkeys(commands))
    if bad := [c for c in chosen if c not in allowed]:
        raise ValidationError(
            {"commands": f"Not write commands of profile {profile.name}: {', '.join(bad)}."}
        )
    checks = catalogue(profile)
    with transaction.atomic():
        run = ConformanceRun.objects.create(
            mdc=mdc,
            profile=profile.name,
            device_ids=ids,
            commands=chosen,
            created_by=actor if actor.is_authenticated else None,
            total=len(checks),
        )
        ConformanceCheck.objects.bulk_create(
            ConformanceCheck(run=run, position=i, code=c.code, group=c.group, title=c.title[:300])
            for i, c in enumerate(checks)
        )
        audit_record(
            actor=actor,
            action="conformance.run_create",
            target=run,
            summary=f"Conformance run of {mdc.code} on {len(ids)} meters queued",
            detail={"mdc": mdc.code, "device_ids": ids, "commands": chosen},
        )
        from apps.conformance.tasks import conformance_run_task

        transaction.on_commit(lambda: conformance_run_task.delay(run.pk))
    return run


def _claim(run_id: int) -> bool:
    """queued -> running, once: a second copy of the task finds nothing to claim. A run still
    running after the task's hard time limit lost its worker (the limit would have killed
    it): it is claimed again and resumes at its first pending check."""
    now = timezone.now()
    lost = now - timedelta(seconds=settings.CONFORMANCE_TASK_TIME_LIMIT)
    return bool(
        ConformanceRun.objects.filter(
            Q(state=RunState.QUEUED) | Q(state=RunState.RUNNING, started_at__lt=lost), pk=run_id
        ).update(state=RunState.RUNNING, started_at=now)
    )


def conformance_run_execute(*, run_id: int) -> ConformanceRun:
    """Run every pending check of a queued run, saving each as it finishes (the page shows
    progress), then the verdict. Safe to run twice: see ``_claim``."""
    from apps.conformance.catalogue import catalogue as defs
    from apps.conformance.runner import Suite, Verdict
    from apps.registry.models import Meter

    if not _claim(run_id):
        return ConformanceRun.objects.get(pk=run_id)
    run = ConformanceRun.objects.select_related("mdc").get(pk=run_id)
    by_code = {c.code: c for c in defs(_profile(run.mdc))}
    order = {d: i for i, d in enumerate(run.device_ids)}
    meters = sorted(
        Meter.objects.filter(mdc=run.mdc, global_device_id__in=run.device_ids),
        key=lambda m: order[m.global_device_id],
    )
    suite = Suite(run.mdc, meters, run.commands)
    handlers = suite.registry()
    try:
        for check in run.checks.filter(outcome=CheckOutcome.PENDING).order_by("position"):
            definition = by_code.get(check.code)
            mark = suite.transport.mark()
            started = time.monotonic()
            try:
                verdict = handlers[definition.group](definition)
            except Exception as exc:  # a check that crashes fails itself, not the run
                log.exception("conformance check %s of run %s crashed", check.code, run_id)
                verdict = Verdict(
                    CheckOutcome.FAILED,
                    f"the check could not complete: {type(exc).__name__}: "
                    f"{suite.redactor.text(str(exc))[:300]}",
                )
            _check_save(run, check, verdict, suite.transport.since(mark), started)
    except Exception as exc:
        log.exception("conformance run %s stopped", run_id)
        return _run_finish(run_id, RunState.ERROR, actor_error=f"{type(exc).__name__}: {exc}")
    finally:
        suite.close()
    run.refresh_from_db()
    return _run_finish(run_id, RunState.FAILED if run.failed else RunState.PASSED)


def _check_save(run, check, verdict, exchanges, started: float) -> None:
    with transaction.atomic():
        check.outcome = verdict.outcome
        check.summary = verdict.summary
        check.evidence = {"notes": verdict.notes[:30], "exchanges": exchanges}
        check.duration_ms = round((time.monotonic() - started) * 1000)
        check.finished_at = timezone.now()
        check.save()
        ConformanceRun.objects.filter(pk=run.pk).update(
            done=F("done") + 1,
            passed=F("passed") + int(verdict.outcome == CheckOutcome.PASSED),
            failed=F("failed") + int(verdict.outcome == CheckOutcome.FAILED),
        )


def _run_finish(run_id: int, state: str, actor_error: str = "") -> ConformanceRun:
    with transaction.atomic():
        run = ConformanceRun.objects.select_for_update().select_related("mdc").get(pk=run_id)
        run.state = state
        run.error = actor_error[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["state", "error", "finished_at"])
        audit_record(
            actor=None,
            action="conformance.run_finish",
            target=run,
            summary=f"Conformance run of {run.mdc.code}: {run.get_state_display()} "
            f"({run.passed} passed, {run.failed} failed of {run.total})",
            detail={"state": state, "passed": run.passed, "failed": run.failed},
        )
    return run
