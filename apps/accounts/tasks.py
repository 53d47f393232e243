"""Celery tasks of accounts: background CSV exports (an id in, the service does the work)."""

from __future__ import annotations

from celery import shared_task

from apps.accounts.exports import export_job_run


@shared_task(name="accounts.export_job_run", acks_late=True)
def export_job_run_task(job_id: int) -> str | None:
    job = export_job_run(job_id=job_id)
    return job.state if job is not None else None
