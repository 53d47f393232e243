"""Beat schedules follow each MDC's pull intervals, and the schedule page edits them."""

import json

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from apps.audit.models import AuditEntry
from apps.ingestion.services import PULL_TASK_NAME, schedule_task_name
from apps.registry.models import Mdc
from apps.registry.services import mdc_register, mdc_update

pytestmark = pytest.mark.django_db


def _tasks(mdc):
    tasks = PeriodicTask.objects.filter(name__startswith=f"ingestion.pull:{mdc.pk}:")
    return {task.name: task for task in tasks}


def test_registering_an_mdc_schedules_one_pull_per_dataset_interval():
    mdc = mdc_register(
        actor=None,
        code="vend-a",
        name="Vendor A",
        base_url="http://mdc.example/",
        pull_intervals={"load_profile": 30, "events": 15},
    )
    tasks = _tasks(mdc)
    assert set(tasks) == {
        schedule_task_name(mdc.pk, "load_profile"),
        schedule_task_name(mdc.pk, "events"),
    }
    task = tasks[schedule_task_name(mdc.pk, "load_profile")]
    assert task.task == PULL_TASK_NAME
    assert task.interval.every == 30
    assert task.interval.period == "minutes"
    assert task.enabled is True
    assert json.loads(task.kwargs) == {
        "mdc_id": mdc.pk,
        "dataset_code": "load_profile",
        "trigger": "schedule",
    }
    assert task.expire_seconds == 1800


def test_changing_intervals_and_disabling_the_mdc_updates_beat():
    mdc = mdc_register(
        actor=None,
        code="vend-b",
        name="Vendor B",
        base_url="http://mdc.example/",
        pull_intervals={"load_profile": 30, "events": 15},
    )
    mdc = mdc_update(actor=None, mdc=mdc, pull_intervals={"load_profile": 60})
    tasks = _tasks(mdc)
    assert list(tasks) == [schedule_task_name(mdc.pk, "load_profile")]
    assert tasks[schedule_task_name(mdc.pk, "load_profile")].interval.every == 60
    mdc_update(actor=None, mdc=mdc, enabled=False)
    assert [task.enabled for task in _tasks(mdc).values()] == [False]


def test_deleting_an_mdc_removes_its_schedules():
    mdc = mdc_register(
        actor=None,
        code="vend-c",
        name="C",
        base_url="http://x.example/",
        pull_intervals={"events": 15},
    )
    mdc_id = mdc.pk
    Mdc.objects.filter(pk=mdc_id).first().delete()
    assert not PeriodicTask.objects.filter(name__startswith=f"ingestion.pull:{mdc_id}:").exists()


def test_schedule_form_needs_permission_and_saves_intervals(client_as):
    mdc = mdc_register(
        actor=None,
        code="vend-d",
        name="D",
        base_url="http://x.example/",
        pull_intervals={"events": 15},
    )
    url = reverse("ingestion:schedule-update", args=[mdc.pk])
    form = {
        code: 0
        for code in [
            "instantaneous",
            "billing",
            "monthly_billing",
            "load_profile",
            "events",
            "meter_visuals",
        ]
    }
    form["load_profile"] = 45
    assert client_as("Viewer").post(url, form).status_code == 403
    assert client_as("Operator").post(url, form).status_code == 403
    response = client_as("Administrator").post(url, form)
    assert response.status_code == 302
    mdc.refresh_from_db()
    assert mdc.pull_intervals["load_profile"] == 45
    assert mdc.pull_intervals == {"load_profile": 45}
    assert list(_tasks(mdc)) == [schedule_task_name(mdc.pk, "load_profile")]
    audits = AuditEntry.objects.filter(action="registry.mdc.update", target_id=str(mdc.pk))
    assert audits.count() == 1
