"""The flat-file transport end to end: a simulated MDC writes CSV deliveries into a directory
(``apps.simulator.files``), the MDM scans it and loads them through the warehouse loader; a file
delivered twice loads once, bad lines are quarantined with their line numbers, and a file still
being written (``.part``) is never read."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.ingestion import services
from apps.ingestion.choices import DeliveryState
from apps.ingestion.flatfiles import LOADED_DIR
from apps.ingestion.models import FileDelivery, IngestionRun
from apps.ingestion.tests.conftest import UNTIL, key_of, sim_mdc, stored_rows
from apps.ingestion.transports import FileTransport, transport_for
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.simulator.files import sim_files_deliver
from apps.warehouse.models import QuarantinedRow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def file_fleet(tmp_path):
    """A simulated flat-file MDC and the same MDC registered with its meters."""
    inbox = tmp_path / "inbox"
    sim, sim_meters = sim_mdc("files_a", meters=3, transport="file", file_directory=str(inbox))
    mdc = MdcFactory(code="files-a", transport="file", base_url="", file_directory=str(inbox))
    for meter in sim_meters:
        MeterFactory(
            mdc=mdc, global_device_id=meter.global_device_id, msn=meter.msn, transformer=None
        )
    return sim, sim_meters, mdc, inbox


def _csv_rows(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_simulated_deliveries_load_every_row_and_move_aside(file_fleet):
    sim, _, mdc, inbox = file_fleet
    files = sim_files_deliver(mdc=sim, until=UNTIL)
    assert {path.name.split("_2")[0] for path in files} >= {"load_profile", "events", "billing"}
    assert not list(inbox.glob("*.part"))
    delivered = {path.name: _csv_rows(path) for path in files}

    runs = services.deliveries_scan(mdc_id=mdc.pk)

    assert {run.dataset for run in runs} == {path.name.rsplit("_", 1)[0] for path in files}
    assert all(run.transport == "file" and run.outcome == "succeeded" for run in runs), [
        (run.dataset, run.outcome, run.error) for run in runs
    ]
    assert not list(inbox.glob("*.csv"))
    assert sorted(p.name for p in (inbox / LOADED_DIR).iterdir()) == sorted(delivered)
    lp_name = next(name for name in delivered if name.startswith("load_profile_"))
    lp_rows = delivered[lp_name]
    assert len(lp_rows) > 100
    stored = {key_of("load_profile", row) for row in stored_rows(mdc.pk, "load_profile")}
    assert stored == {key_of("load_profile", row) for row in lp_rows}
    record = FileDelivery.objects.get(mdc=mdc, name=lp_name)
    assert record.state == DeliveryState.LOADED
    assert (record.rows_received, record.rows_inserted, record.rows_quarantined) == (
        len(lp_rows),
        len(lp_rows),
        0,
    )
    assert len(record.sha256) == 64 and record.run.dataset == "load_profile"
    # nothing new delivered: the next scan makes no run
    assert services.deliveries_scan(mdc_id=mdc.pk) == []


def test_a_file_delivered_twice_loads_once(file_fleet):
    sim, _, mdc, inbox = file_fleet
    files = sim_files_deliver(mdc=sim, until=UNTIL)
    services.deliveries_scan(mdc_id=mdc.pk)
    lp = next(p for p in files if p.name.startswith("load_profile_"))
    before = len(stored_rows(mdc.pk, "load_profile"))
    # the MDC delivers the same bytes again, under another name
    shutil.copy(inbox / LOADED_DIR / lp.name, inbox / "load_profile_20990101T0000.csv")

    (run,) = services.deliveries_scan(mdc_id=mdc.pk)

    again = FileDelivery.objects.get(name="load_profile_20990101T0000.csv")
    assert again.state == DeliveryState.DUPLICATE and again.rows_received == 0
    assert "not loaded again" in again.error
    assert run.rows_received == 0 and run.rows_inserted == 0
    assert len(stored_rows(mdc.pk, "load_profile")) == before
    assert FileDelivery.objects.filter(mdc=mdc, state=DeliveryState.LOADED).count() == len(files)


def _bad_delivery(sim_meters) -> bytes:
    header = "global_device_id,msn,event_datetime,event_code,event_description,db_datetime"
    good = sim_meters[0]
    lines = [
        header,
        f"{good.global_device_id},{good.msn},2025-07-01 10:00:00,101,MDI reset,2025-07-01 10:06:00",
        f"{good.global_device_id},{good.msn},not a time,101,MDI reset,2025-07-01 10:06:00",
        f"{good.global_device_id},{good.msn},2025-07-01 11:00:00",
        "m99999999,4099999999,2025-07-01 12:00:00,101,MDI reset,2025-07-01 12:06:00",
    ]
    return ("\n".join(lines) + "\n").encode()


def test_bad_lines_are_quarantined_with_their_line_numbers(file_fleet, client_as):
    _, sim_meters, mdc, _ = file_fleet
    upload = SimpleUploadedFile("events_20250701T1200.csv", _bad_delivery(sim_meters))

    answer = client_as("Administrator").post(
        "/api/ingestion/deliveries/import/", {"mdc": mdc.pk, "file": upload}
    )

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["state"] == "loaded" and body["source"] == "upload"
    assert (body["rows_received"], body["rows_inserted"], body["rows_quarantined"]) == (4, 1, 3)
    reasons = sorted(QuarantinedRow.objects.filter(mdc_id=mdc.pk).values_list("reason", flat=True))
    assert [reason.split(":")[0] for reason in reasons] == ["line 3", "line 4", "line 5"]
    assert "3 values where the header has 6" in reasons[1]
    run = IngestionRun.objects.get(pk=body["run"])
    assert run.trigger == "upload" and run.outcome == "partial"
    # the same upload again is a duplicate, nothing loads twice
    again = client_as("Administrator").post(
        "/api/ingestion/deliveries/import/",
        {"mdc": mdc.pk, "file": SimpleUploadedFile("events_x.csv", _bad_delivery(sim_meters))},
    )
    assert again.status_code == 409  # the name states no delivery time
    again = client_as("Administrator").post(
        "/api/ingestion/deliveries/import/",
        {
            "mdc": mdc.pk,
            "file": SimpleUploadedFile("events_20250701T1300.csv", _bad_delivery(sim_meters)),
        },
    )
    assert again.status_code == 201 and again.json()["state"] == "duplicate"
    assert len(stored_rows(mdc.pk, "events")) == 1


def test_a_file_still_being_written_is_not_read(file_fleet):
    sim, _, mdc, _ = file_fleet
    files = sim_files_deliver(mdc=sim, until=UNTIL)
    lp = next(p for p in files if p.name.startswith("load_profile_"))
    part = lp.with_name(lp.name + ".part")
    lp.rename(part)  # as if the MDC were still writing it

    runs = services.deliveries_scan(mdc_id=mdc.pk)

    assert "load_profile" not in {run.dataset for run in runs}
    assert part.exists() and not FileDelivery.objects.filter(name=lp.name).exists()
    part.rename(lp)  # written: renamed into place
    (run,) = services.deliveries_scan(mdc_id=mdc.pk)
    assert run.dataset == "load_profile" and run.rows_inserted > 0


def test_a_file_arriving_while_another_is_read_waits_for_the_next_scan(file_fleet, monkeypatch):
    sim, _, mdc, inbox = file_fleet
    first = sim_files_deliver(mdc=sim, until=UNTIL)
    lp = next(p for p in first if p.name.startswith("load_profile_"))
    late = inbox / "load_profile_20250702T1159.csv"
    real_rows = FileTransport._rows_load

    def rows_load_while_the_mdc_delivers(self, run, read, *, source):
        if not late.exists() and run.dataset == "load_profile":
            part = late.with_name(late.name + ".part")
            part.write_bytes(io.BytesIO(lp.read_bytes()).getvalue().replace(b"\r\n", b"\n"))
            part.rename(late)
        return real_rows(self, run, read, source=source)

    monkeypatch.setattr(FileTransport, "_rows_load", rows_load_while_the_mdc_delivers)
    runs = services.deliveries_scan(mdc_id=mdc.pk)

    lp_run = next(run for run in runs if run.dataset == "load_profile")
    assert list(lp_run.deliveries.values_list("name", flat=True)) == [lp.name]
    assert late.exists()
    (second,) = services.deliveries_scan(mdc_id=mdc.pk)
    loaded = second.deliveries.get()
    assert loaded.name == late.name and loaded.state == DeliveryState.LOADED
    assert second.rows_inserted == 0 and second.rows_received == lp_run.rows_received


def test_a_file_whose_name_states_no_data_set_is_recorded_as_failed(file_fleet):
    _, _, mdc, inbox = file_fleet
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "readings.csv").write_text("a,b\n1,2\n")
    assert services.deliveries_scan(mdc_id=mdc.pk) == []
    failed = FileDelivery.objects.get(mdc=mdc)
    assert failed.state == DeliveryState.FAILED and "not named" in failed.error
    assert (inbox / "failed" / "readings.csv").exists()


def test_transport_probe_and_pages(file_fleet, client_as):
    sim, _, mdc, inbox = file_fleet
    sim_files_deliver(mdc=sim, until=UNTIL)
    assert "file(s) waiting" in transport_for(mdc).probe()
    viewer = client_as("Viewer")
    assert viewer.get("/ingestion/deliveries/").status_code == 200
    assert viewer.get("/ingestion/deliveries/import/").status_code == 403
    admin = client_as("Administrator")
    page = admin.get("/ingestion/deliveries/import/")
    assert page.status_code == 200 and b"load_profile_20261201T1000.csv" in page.content
    bad = admin.post(
        "/ingestion/deliveries/import/",
        {"mdc": mdc.pk, "file": SimpleUploadedFile("nothing.csv", b"x\n")},
    )
    assert bad.status_code == 200 and b"is not named" in bad.content
    lp = next(inbox.glob("load_profile_*.csv"))
    done = admin.post(
        "/ingestion/deliveries/import/",
        {"mdc": mdc.pk, "file": SimpleUploadedFile(lp.name, lp.read_bytes())},
    )
    assert done.status_code == 302
    listing = admin.get("/ingestion/deliveries/")
    assert lp.name.encode() in listing.content
    mdc_page = admin.get(f"/registry/mdcs/{mdc.pk}/")
    assert mdc_page.status_code == 200
    assert b"Latest file deliveries" in mdc_page.content and lp.name.encode() in mdc_page.content


def test_simulator_commands_create_a_file_mdc_and_deliver(tmp_path, capsys):
    from django.core.management import call_command

    from apps.simulator.models import SimMdc

    call_command(
        "simulator_create",
        "--meters",
        "2",
        "--days",
        "1",
        "--transport",
        "file",
        "--prefix",
        "flat",
        "--file-directory",
        str(tmp_path),
    )
    sim = SimMdc.objects.get(code="flat1")
    assert sim.file_directory == str(tmp_path / "flat1")
    out = capsys.readouterr().out
    assert f"{tmp_path / 'flat1'} (" in out and "files delivered" in out
    assert list((tmp_path / "flat1").glob("load_profile_*.csv"))
    call_command("simulator_deliver", "--mdc", "flat1")
    assert "flat1: " in capsys.readouterr().out
