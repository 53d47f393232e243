"""On-demand answers are guarded like pulls: an MDC may store rows of its own meters only."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.commands.models import CommandDevice
from apps.commands.services import command_request_create
from apps.commands.services.effects import DeviceRows, _on_demand_load
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.warehouse.models import QuarantinedRow
from apps.warehouse.schema import table_for

pytestmark = pytest.mark.django_db


def _event(meter, when: str) -> dict:
    return {
        "msn": str(meter.msn),
        "global_device_id": meter.global_device_id,
        "event_datetime": when,
        "event_code": "111",
        "event_description": "power fail start",
        "mdc_read_datetime": when,
        "db_datetime": when,
    }


def test_on_demand_rows_of_a_meter_registered_at_another_mdc_are_quarantined(make_user):
    mdc_a, mdc_b = MdcFactory(), MdcFactory()
    own = MeterFactory(mdc=mdc_a, transformer=None, consumer=None)
    foreign = MeterFactory(mdc=mdc_b, transformer=None, consumer=None)
    request = command_request_create(
        actor=make_user("Operator"),
        command="on_demand_request",
        params={
            "type": "EVNT",
            "start_datetime": "2026-11-01 00:00:00",
            "end_datetime": "2026-11-02 00:00:00",
        },
        meters=[own.pk],
    )
    tx = request.transactions.get()
    device = CommandDevice.objects.get(transaction=tx)
    # MDC A answers for its own meter and, wrongly, for MDC B's meter too.
    rows = [_event(own, "2026-11-01 10:00:00"), _event(foreign, "2026-11-01 11:00:00")]

    stored = _on_demand_load(tx=tx, per_device=[DeviceRows(device.pk, rows)], mdc=mdc_a)

    assert stored == 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT mdc_id, global_device_id FROM {table_for('events').name} "
            "ORDER BY global_device_id"
        )
        assert cursor.fetchall() == [(mdc_a.pk, own.global_device_id)]
    entry = QuarantinedRow.objects.get(source=f"on_demand:{tx.transactionid}")
    assert entry.mdc_id == mdc_a.pk
    assert entry.raw_payload["global_device_id"] == foreign.global_device_id
    assert "not a meter registered at this MDC" in entry.reason
    device.refresh_from_db()
    assert device.response_rows == 2
