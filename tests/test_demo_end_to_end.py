"""Across apps: the demo's simulated MDCs, registered like real vendors, pulled over HTTP into
the warehouse, and shown on the meter page and the dashboard."""

import pytest
from django.core.management import call_command

from apps.ingestion.models import IngestionRun
from apps.ingestion.services import pull_run
from apps.registry.models import Mdc, Meter
from apps.simulator.models import SimMdc
from apps.warehouse.models import LoadProfileReading
from mdm.demo import DEMO_VENDORS, demo_load

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_loads_once_and_its_data_reaches_the_meter_page(live_server, client_as):
    mdcs = demo_load(base_url=live_server.url, meters_per_mdc=3, days=2)
    assert [mdc.code for mdc in mdcs] == [vendor.code for vendor in DEMO_VENDORS]
    assert demo_load(base_url=live_server.url, meters_per_mdc=3, days=2) == []
    assert Meter.objects.count() == 3 * len(DEMO_VENDORS)
    assert {mdc.data_format for mdc in Mdc.objects.all()} == {"json", "xml"}
    assert {mdc.transport for mdc in Mdc.objects.all()} == {"api", "file"}
    # each registered MDC says what its simulated head end sends as load profile energy
    assert (
        dict(Mdc.objects.values_list("code", "lp_energy_kind"))
        == dict(SimMdc.objects.values_list("code", "lp_energy_mode"))
        == {
            "demo_alpha": "register",
            "demo_beta": "interval",
            "demo_gamma": "register",
            "demo_files": "register",
        }
    )
    assert dict(Mdc.objects.values_list("code", "udil_profile")) == dict(
        SimMdc.objects.values_list("code", "udil_profile")
    )
    assert sorted(Mdc.objects.values_list("udil_profile", flat=True)) == [
        "2019",
        "2019",
        "2019",
        "3.3",
    ]

    for mdc in mdcs:  # the flat-file MDC's first deliveries are in its directory already
        run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
        assert run.outcome == "succeeded", run.error
        assert run.rows_inserted > 0
    # Warehouse tables are not Django-managed, so transactional tests elsewhere may leave rows:
    # count this demo's devices only.
    demo_devices = list(Meter.objects.values_list("global_device_id", flat=True))
    assert LoadProfileReading.objects.filter(global_device_id__in=demo_devices).count() == sum(
        run.rows_inserted for run in IngestionRun.objects.all()
    )

    client = client_as("Viewer")
    meter = Meter.objects.active().order_by("global_device_id").first()
    page = client.get(f"/registry/meters/{meter.pk}/")
    assert page.status_code == 200
    assert b"plotly" in page.content
    assert meter.global_device_id.encode() in page.content
    assert client.get("/").status_code == 200


def test_demo_command_reports_when_already_loaded(live_server, capsys):
    call_command(
        "demo_load", "--base-url", live_server.url, "--meters", "1", "--days", "1", "--no-pull"
    )
    call_command("demo_load", "--base-url", live_server.url, "--no-pull")
    assert "already loaded" in capsys.readouterr().out
