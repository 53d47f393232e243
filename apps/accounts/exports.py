"""Background CSV exports: a list page's export too large to stream while the user waits is
written to a file by a worker (the same columns and cells as the streamed export), with its
progress shown, then downloaded by its owner.

Each user may have ``EXPORT_JOBS_PER_USER`` exports queued or running, of at most
``EXPORT_BACKGROUND_MAX_ROWS`` rows each. The worker re-opens the list page's own view with the
saved filters and the owner's permissions (nothing is exported the owner could not see) and
writes through ``apps.core.export``; files live under ``EXPORT_DIR``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve
from django.utils import timezone

from apps.accounts.choices import ExportState
from apps.accounts.models import ExportJob
from apps.audit.services import audit_record
from apps.core.export import csv_chunks, table_rows

PROGRESS_EVERY_ROWS = 20_000


def export_dir() -> Path:
    directory = Path(settings.EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@transaction.atomic
def export_job_create(*, actor, path: str, query: str, title: str, rows_expected: int) -> ExportJob:
    """Queue a background export of a list page (its path and filters) for ``actor``."""
    limit = settings.EXPORT_BACKGROUND_MAX_ROWS
    if rows_expected > limit:
        raise ValidationError(
            f"The export would have more than {limit:,} rows, the most one export may have. "
            "Narrow the filters (a shorter time range, one MDC) and export in parts."
        )
    active = ExportJob.objects.select_for_update().filter(
        user=actor, state__in=ExportState.active()
    )
    if len(active) >= settings.EXPORT_JOBS_PER_USER:
        raise ValidationError(
            f"You have {len(active)} export(s) still running; "
            f"at most {settings.EXPORT_JOBS_PER_USER} at a time. Wait for them to finish."
        )
    job = ExportJob.objects.create(
        user=actor, title=title[:100], path=path[:200], query=query, rows_expected=rows_expected
    )
    audit_record(
        actor=actor,
        action="accounts.export_create",
        target=job,
        summary=f"{title} export of about {rows_expected:,} rows",
        detail={"path": path, "query": query},
    )
    from apps.accounts.tasks import export_job_run_task

    transaction.on_commit(lambda: export_job_run_task.delay(job.pk))
    return job


def _view_for(job: ExportJob):
    """The list page's view set up as if its owner asked for it."""
    match = resolve(job.path)
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = job.path
    request.GET = QueryDict(job.query)
    request.user = job.user
    view = match.func.view_class(**getattr(match.func, "view_initkwargs", {}))
    view.setup(request, *match.args, **match.kwargs)
    return view


def _finish(job_id: int, **fields) -> None:
    ExportJob.objects.filter(pk=job_id).update(finished_at=timezone.now(), **fields)


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write the export's file. Safe to run twice: a finished job is left alone, a job left
    running by a killed worker is written again from the start."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in (ExportState.DONE, ExportState.FAILED):
            return job
        job.state, job.started_at, job.rows_written = ExportState.RUNNING, timezone.now(), 0
        job.file_name = job.file_name or f"export-{job.pk}-{secrets.token_hex(8)}.csv"
        job.save(update_fields=["state", "started_at", "rows_written", "file_name"])
    try:
        view = _view_for(job)
    except (Resolver404, AttributeError) as exc:
        _finish(job.pk, state=ExportState.FAILED, error=f"Not an exportable page: {exc}")
        return ExportJob.objects.get(pk=job.pk)
    if not job.user.is_active or not view.has_permission():
        _finish(job.pk, state=ExportState.FAILED, error="You may no longer see this list.")
        return ExportJob.objects.get(pk=job.pk)
    filterset = view.get_filterset(view.get_filterset_class())
    if filterset.is_bound and not filterset.is_valid():
        _finish(job.pk, state=ExportState.FAILED, error=f"Invalid filters: {filterset.errors}")
        return ExportJob.objects.get(pk=job.pk)
    queryset = filterset.qs
    table = view.get_table_class()(queryset.none(), **view.get_table_kwargs())
    rows = _counted(table_rows(table, queryset, exclude=view.exclude_columns), job.pk)
    target = export_dir() / job.file_name
    try:
        with target.open("wb") as out:
            for chunk in csv_chunks(rows):
                out.write(chunk)
    except Exception as exc:
        _finish(job.pk, state=ExportState.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    written = ExportJob.objects.get(pk=job.pk).rows_written
    _finish(job.pk, state=ExportState.DONE, rows_written=written)
    return ExportJob.objects.get(pk=job.pk)


def _counted(rows, job_id: int):
    """The rows, recording progress (data rows written) every PROGRESS_EVERY_ROWS."""
    count = -1  # the header is not a row
    for row in rows:
        count += 1
        if count and count % PROGRESS_EVERY_ROWS == 0:
            ExportJob.objects.filter(pk=job_id).update(rows_written=count)
        yield row
    ExportJob.objects.filter(pk=job_id).update(rows_written=max(count, 0))


def export_file(job: ExportJob) -> Path | None:
    if job.state != ExportState.DONE or not job.file_name:
        return None
    path = export_dir() / job.file_name
    return path if path.exists() else None
