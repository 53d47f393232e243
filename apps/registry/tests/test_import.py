import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.registry.models import Meter
from apps.registry.services import meters_import_csv
from apps.registry.tests.factories import (
    ConsumerFactory,
    MdcFactory,
    MeterFactory,
    TransformerFactory,
)

pytestmark = pytest.mark.django_db


def csv_file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


@pytest.fixture
def world(mdc):
    other = MdcFactory(code="zeta")
    transformer = TransformerFactory(code="T-100")
    consumer = ConsumerFactory(reference_no="REF-1")
    MeterFactory(msn=999, mdc=mdc, transformer=None, consumer=None)
    return {"mdc": mdc, "other": other, "transformer": transformer, "consumer": consumer}


MIXED = """msn,mdc,phase,transformer,consumer,mdi_reset_date,global_device_id
1001,acme,3,T-100,REF-1,5,
1002,zeta,1,,,,
abc,acme,1,,,,
1004,nosuch,1,,,,
1005,acme,1,T-404,,,
1001,acme,1,,,,
999,acme,1,,,,
1008,acme,2,,,,
1009,acme,1,,,29,
1010,acme,1,,,,m77777777
1011,acme,1,,,,m77777777
1012,acme,1,,NOPE,,
"""


def test_good_rows_are_imported_and_bad_rows_reported_by_line(admin_user, world):
    report = meters_import_csv(actor=admin_user, file=csv_file(MIXED), all_or_nothing=False)
    assert report.rows_total == 12
    assert report.created == 3
    lines = dict(report.errors)
    assert set(lines) == {4, 5, 6, 7, 8, 9, 10, 12, 13}
    assert "msn 'abc'" in lines[4]
    assert "unknown MDC code 'nosuch'" in lines[5]
    assert "unknown transformer code 'T-404'" in lines[6]
    assert "repeats line 2" in lines[7]
    assert "already registered" in lines[8]
    assert "phase 2" in lines[9]
    assert "mdi_reset_date 29 is out of range" in lines[10]
    assert "global_device_id m77777777 repeats line 11" in lines[12]
    assert "unknown consumer reference 'NOPE'" in lines[13]
    first = Meter.objects.get(msn=1001)
    assert first.phase == 3
    assert first.transformer == world["transformer"]
    assert first.consumer == world["consumer"]
    assert first.mdi_reset_date == 5
    assert first.global_device_id.startswith("m")
    assert Meter.objects.get(msn=1002).mdc == world["other"]
    assert Meter.objects.get(msn=1010).global_device_id == "m77777777"
    entry = AuditEntry.objects.get(action="registry.meter.import")
    assert entry.detail["created"] == 3


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(admin_user, world):
    before = Meter.objects.count()
    report = meters_import_csv(actor=admin_user, file=csv_file(MIXED), all_or_nothing=True)
    assert report.created == 0
    assert len(report.errors) == 9
    assert Meter.objects.count() == before


def test_default_mdc_and_full_transformer_path(admin_user, world):
    t = world["transformer"]
    feeder = t.feeder
    sub = feeder.subdivision
    div = sub.division
    circle = div.circle
    path = "/".join([circle.disco.code, circle.code, div.code, sub.code, feeder.code, t.code])
    TransformerFactory(code="T-100")  # the bare code is now ambiguous
    text = f"msn,transformer\n2001,{path}\n2002,T-100\n"
    report = meters_import_csv(
        actor=admin_user, file=csv_file(text), mdc=world["other"], all_or_nothing=False
    )
    assert report.created == 1
    assert report.errors[0][0] == 3 and "ambiguous" in report.errors[0][1]
    assert Meter.objects.get(msn=2001).mdc == world["other"]


def test_header_problems(admin_user, mdc):
    report = meters_import_csv(
        actor=admin_user, file=csv_file("serial,mdc\n1,acme\n"), all_or_nothing=False
    )
    assert report.errors == [(1, "the header has no 'msn' column")]
    report = meters_import_csv(
        actor=admin_user, file=csv_file("msn,colour\n1,red\n"), all_or_nothing=False
    )
    assert report.errors == [(1, "unknown columns: colour")]
    report = meters_import_csv(actor=admin_user, file=io.BytesIO(b"\xff\xfe\x00"), mdc=mdc)
    assert report.errors[0][0] == 0
    report = meters_import_csv(actor=admin_user, file=csv_file("msn\n5\n"), all_or_nothing=False)
    assert report.errors == [
        (2, "mdc is missing (no column value and no MDC chosen for the import)")
    ]


def test_thousands_of_rows_take_a_bounded_number_of_queries(admin_user, mdc):
    TransformerFactory(code="T-1")
    rows = "\n".join(f"{3_000_000 + i},acme,T-1,{i % 28 + 1}" for i in range(3000))
    text = "msn,mdc,transformer,mdi_reset_date\n" + rows + "\n"
    with CaptureQueriesContext(connection) as queries:
        report = meters_import_csv(actor=admin_user, file=csv_file(text), all_or_nothing=True)
    assert report.errors == []
    assert report.created == 3000
    assert len(queries) < 25
    ids = list(Meter.objects.filter(msn__gte=3_000_000).values_list("global_device_id", flat=True))
    assert len(set(ids)) == 3000
