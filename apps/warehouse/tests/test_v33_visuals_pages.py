"""The 3.3 meter visuals' stored columns (schedules, SIM, IP and port, device metadata ...) show
on the meter page and the visuals detail page, readable (words, small tables, Pakistan time
with its offset); a 2019 meter's visuals show no empty 3.3 sections."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.simulator.services import sim_command_submit, sim_read
from apps.simulator.testing import make_sim_mdc
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.udil.profiles import PROFILE_3_3
from apps.udil.timefmt import PKT
from apps.warehouse.models import MeterVisuals, QuarantinedRow
from apps.warehouse.services import rows_load

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=PKT)
T = dt.datetime(2025, 3, 8, 10, 0, tzinfo=PKT)
TOU = {
    "day_profile": [{"name": "weekday", "tariff_slabs": ["00:00", "17:00", "21:00"]}],
    "week_profile": [{"name": "normal", "weekly_day_profile": ["weekday"] * 7}],
    "season_profile": [{"name": "summer", "week_profile_name": "normal", "start_date": "01-04"}],
    "holiday_profile": [{"name": "pakistan_day", "date": "23-03", "day_profile_name": "weekday"}],
}


def _text(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _command(mdc, gid, service, tid, at, **params):
    svc = PROFILE_3_3.service(service)
    typed = svc.validate({"global_device_id": [gid], "request_datetime": _text(at), **params})
    sim_command_submit(
        mdc=mdc, service=service, params=typed, transactionid=tid, now=at, wire_name=svc.name
    )


@pytest.fixture
def visuals_3_3():
    """A simulated 3.3 MDC's visuals of a programmed meter, loaded into the warehouse, and the
    registry meter of that device."""
    sim, [meter] = make_sim_mdc(
        code="pages33",
        meters=1,
        seed=3,
        history_start=NOW - dt.timedelta(days=4),
        now=NOW,
        udil_profile="3.3",
    )
    gid = meter.global_device_id
    _command(
        sim,
        gid,
        "update_ip_port",
        "C1",
        T,
        primary_ip_address="10.20.30.40",
        primary_port="5001",
        secondary_ip_address="10.20.30.41",
        secondary_port="5002",
    )
    _command(
        sim,
        gid,
        "load_shedding_scheduling",
        "C2",
        T,
        start_datetime=_text(T),
        end_datetime=_text(T + dt.timedelta(days=30)),
        load_shedding_slabs=[
            {"action_time": "18:00:00", "relay_operate": "0"},
            {"action_time": "20:00:00", "relay_operate": "1"},
        ],
    )
    _command(sim, gid, "time_of_use_change", "C3", T, activation_datetime=_text(T), **TOU)
    _command(sim, gid, "wake_up_sim_number_update", "C4", T, wakeup_number_1="03001112223")
    _command(
        sim,
        gid,
        "update_device_metadata",
        "C5",
        T,
        communication_mode="1",
        bidirectional_device="1",
        communication_type="2",
        phase=str(meter.phase),
        meter_type=str(meter.meter_type),
    )
    fields, rows, _ = sim_read(
        mdc=sim, dataset="meter_visuals", global_device_ids=[gid], start=None, end=NOW, now=NOW
    )
    raw = [dict(zip(fields, row, strict=True)) for row in rows]
    result = rows_load(
        dataset_code="meter_visuals",
        mdc_id=5,
        raw_rows=raw,
        source="test",
        dataset=DATASETS_3_3["meter_visuals"],
    )
    assert result.inserted == 1, list(QuarantinedRow.objects.values_list("reason", flat=True))
    registry_meter = MeterFactory(global_device_id=gid, msn=meter.msn, transformer=None)
    return registry_meter, meter, raw[0]


def _page(client_as, url):
    response = client_as("Viewer").get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _assert_3_3_shown(html, sim_meter, raw):
    # IP and port, SIM, wake-up number: as programmed / as the meter has them
    assert "10.20.30.40" in html and "5002" in html
    assert sim_meter.sim_id and sim_meter.sim_id in html
    assert "03001112223" in html
    # codes as words
    assert "Mode-II (keep-alive)" in html and "GPRS/3G/4G" in html
    assert "Contactor" in html and "Connected" in html
    assert "Power on" in html or "Power off" in html
    # the load-shedding schedule and the TOU calendar as small tables
    assert "18:00:00" in html and "Disconnect" in html and "Connect" in html
    assert "T2 from 17:00" in html and "T3 from 21:00" in html
    assert "summer" in html and "01-04" in html and "pakistan_day" in html
    # times in Pakistan time with the offset (08 Mar 2025 10:00 +0500)
    assert "08 Mar 2025 10:00 +0500" in html
    assert "tariff_slabs" in raw["tiou_day_profile"] and "tariff_slabs" not in html  # not raw JSON


def test_the_meter_page_shows_the_3_3_visuals(visuals_3_3, client_as):
    registry_meter, sim_meter, raw = visuals_3_3
    html = _page(client_as, f"/registry/meters/{registry_meter.pk}/")
    assert "Meter settings and state (UDIL 3.3 visuals)" in html
    _assert_3_3_shown(html, sim_meter, raw)


def test_the_visuals_detail_page_shows_every_filled_column(visuals_3_3, client_as):
    _, sim_meter, raw = visuals_3_3
    listing = _page(client_as, "/warehouse/meter-visuals/")
    detail_url = f"/warehouse/meter-visuals/{sim_meter.global_device_id}/"
    assert detail_url in listing
    html = _page(client_as, detail_url)
    assert "UDIL 3.3 visuals" in html
    _assert_3_3_shown(html, sim_meter, raw)


def test_2019_visuals_show_no_3_3_sections(client_as):
    rows_load(
        dataset_code="meter_visuals",
        mdc_id=7,
        raw_rows=[
            {
                "global_device_id": "m19",
                "msn": "19",
                "last_communication_datetime": "2026-11-01 10:00:00",
                "meter_load_limit_set": "5",
                "meter_activation_status": "1",
            }
        ],
        source="test",
    )
    MeterFactory(global_device_id="m19", msn=19, transformer=None, mdc=MdcFactory())
    assert MeterVisuals.objects.filter(global_device_id="m19").exists()
    html = _page(client_as, "/warehouse/meter-visuals/m19/")
    assert "UDIL 2019 visuals" in html and "01 Nov 2026 10:00 +0500" in html
    assert "Meter settings and state" not in html and "IP and port" not in html
    assert "Active" in html
    meter_pk = MeterFactory._meta.model.objects.get(global_device_id="m19").pk
    page = _page(client_as, f"/registry/meters/{meter_pk}/")
    assert "Meter settings and state" not in page and "Time of use" not in page


def test_an_unknown_device_has_no_visuals_page(client_as):
    assert client_as("Viewer").get("/warehouse/meter-visuals/nobody/").status_code == 404
