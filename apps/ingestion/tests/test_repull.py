"""Re-pulling a loaded window (issue 8, ingestion cost): an answer identical to the one last
loaded skips the merge; a changed answer, or rows missing from the warehouse, still merge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from apps.ingestion.services import pull_run, watermark_set
from apps.ingestion.tests.hostile import HostileMdc, read_answer
from apps.registry.tests.factories import MdcFactory, MeterFactory
from apps.udil.datasets import DATASETS
from apps.udil.timefmt import PKT
from apps.warehouse import services as warehouse_services
from apps.warehouse.models import LoadProfileReading

SINCE = dt.datetime(2025, 6, 28, tzinfo=PKT)
UNTIL = dt.datetime(2025, 6, 30, tzinfo=PKT)


def test_an_identical_answer_is_not_merged_again_but_changes_and_losses_are(db, monkeypatch):
    merges = []
    merge = warehouse_services.merge_text_rows

    def counting_merge(*args, **kwargs):  # the real merge, counted
        merges.append(len(kwargs["rows"]))
        return merge(*args, **kwargs)

    monkeypatch.setattr(warehouse_services, "merge_text_rows", counting_merge)
    state = {"energy": "10.000", "stored_second": "05"}

    def answer(service, form):
        day = form["start_datetime"][:10]
        rows = []
        for hour in range(24):
            row = DATASETS["load_profile"].encode_row({})
            at = f"{day} {hour:02d}:00:00"
            row.update(
                msn=str(meter.msn),
                global_device_id=meter.global_device_id,
                meter_datetime=at,
                interval="60",
                active_energy_tl=state["energy"],
                mdc_read_datetime=at,
                db_datetime=f"{at[:-2]}{state['stored_second']}",
            )
            rows.append(row)
        return 200, read_answer(rows)

    def pull():
        watermark_set(actor=None, mdc=mdc, dataset_code="load_profile", position=None)
        merges.clear()
        return pull_run(mdc_id=mdc.pk, dataset_code="load_profile", since=SINCE, until=UNTIL)

    with HostileMdc(answer) as fake:
        mdc = MdcFactory(base_url=fake.url, window_minutes={"load_profile": 1440})
        meter = MeterFactory(mdc=mdc, transformer=None, consumer=None)
        first = pull()
        assert (first.rows_inserted, len(merges)) == (48, 2)

        again = pull()
        assert (again.rows_received, again.rows_unchanged, again.rows_inserted) == (48, 48, 0)
        assert merges == []  # both answers were the ones loaded: no merge at all

        with connection.cursor() as cursor:  # a row lost from the warehouse since
            cursor.execute(
                "DELETE FROM warehouse_load_profile WHERE mdc_id = %s AND meter_datetime = %s",
                [mdc.pk, dt.datetime(2025, 6, 29, 5, tzinfo=PKT)],
            )
        restored = pull()
        assert (restored.rows_inserted, restored.rows_unchanged) == (1, 47)
        assert merges == [24]  # only the answer of the window that lost it

        state.update(energy="11.000", stored_second="09")  # the MDC corrected its rows
        corrected = pull()
        assert (corrected.rows_updated, corrected.rows_unchanged) == (48, 0)
        assert len(merges) == 2
    energies = set(LoadProfileReading.objects.values_list("active_energy_tl", flat=True))
    assert energies == {Decimal("11.000")}
