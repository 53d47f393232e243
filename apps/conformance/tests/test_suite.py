"""The conformance suite over real HTTP against the embedded simulator (``live_server``): a
well-behaved simulated MDC passes every check; simulated MDCs with faults fail exactly the
checks their fault breaks. The Celery task runs in the test's process (``task.apply``), with
the run started through the public page and API as an administrator would."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.conformance import catalogue as cat
from apps.conformance.catalogue import catalogue
from apps.conformance.choices import CheckOutcome, RunState
from apps.conformance.models import ConformanceRun
from apps.conformance.tasks import conformance_run_task
from apps.registry.models import Mdc, Meter
from apps.simulator.models import SimPrivateKey
from apps.simulator.services import sim_faults_update
from apps.simulator.testing import make_sim_mdc, sim_base_url
from apps.udil.profiles import PROFILES, get_profile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def registered(live_server):
    def make(code: str, meters: int = 2, fmt: str = "json", profile: str = "2019", **faults):
        # 35 days: a monthly billing snapshot (MDI reset) falls inside the history
        sim, fleet = make_sim_mdc(
            code=code, meters=meters, days=35, fmt=fmt, udil_profile=profile, **faults
        )
        mdc = Mdc.objects.create(
            code=code,
            data_format=fmt,
            udil_profile=profile,
            name=f"Registry view of {code}",
            base_url=sim_base_url(live_server, sim),
            username=sim.username,
            password=sim.password,
            auth_code=sim.auth_code,
        )
        Meter.objects.bulk_create(
            [Meter(global_device_id=m.global_device_id, msn=m.msn, mdc=mdc) for m in fleet]
        )
        return sim, mdc, sorted(m.global_device_id for m in fleet)

    yield make
    from mdm.celery import app

    app.control.purge()  # runs enqueued on commit: no worker consumes them here


def run_suite(client, mdc, device_ids) -> ConformanceRun:
    response = client.post(
        "/api/conformance/runs/",
        {"mdc": mdc.pk, "device_ids": device_ids},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    conformance_run_task.apply(args=[run_id])
    return ConformanceRun.objects.get(pk=run_id)


def pdf_text(data: bytes) -> str:
    """The page streams of a reportlab PDF, decoded (ASCII85, then Flate)."""
    import base64
    import re
    import zlib

    streams = b"".join(
        zlib.decompress(base64.a85decode(body.strip(), adobe=True))
        for body in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S)
    )
    return streams.replace(b") Tj (", b"").decode("latin-1")


def outcomes(run: ConformanceRun) -> dict[str, str]:
    return dict(run.checks.values_list("code", "outcome"))


#: Every profile the protocol package has, in JSON; 2019 in XML too.
GOOD = [(name, "json") for name in sorted(PROFILES)] + [("2019", "xml")]


@pytest.mark.parametrize(("profile", "fmt"), GOOD)
def test_simulator_passes_in_full(registered, client_as, profile, fmt):
    sim, mdc, ids = registered(f"confgood{fmt}{profile.replace('.', '')}", fmt=fmt, profile=profile)
    assert mdc.udil_profile == profile
    admin = client_as("Administrator")
    run = run_suite(admin, mdc, ids)
    results = outcomes(run)
    assert set(results) == {c.code for c in catalogue(get_profile(mdc.udil_profile))}
    not_passed = {code: o for code, o in results.items() if o != CheckOutcome.PASSED}
    assert not_passed == {}, [
        (c.code, c.summary, c.evidence.get("notes"))
        for c in run.checks.exclude(outcome=CheckOutcome.PASSED)
    ]
    assert run.state == RunState.PASSED
    assert (run.total, run.done, run.passed, run.failed) == (
        len(results),
        len(results),
        len(results),
        0,
    )
    # every write command of the profile was sent and every read API asked
    profile = get_profile(mdc.udil_profile)
    writes = [n for n, s in profile.services.items() if s.kind == "write"]
    assert {c for c in results if c.startswith("write.")} == {f"write.{n}" for n in writes}
    reads = [s.dataset.code for s in profile.services.values() if s.kind == "read" and s.dataset]
    assert {c for c in results if c.startswith("read.")} == {f"read.{d}" for d in reads}
    assert len(writes) == {"2019": 11, "3.3": 16}.get(profile.name, len(writes))

    # the report: progress, evidence, no secret anywhere
    page = admin.get(f"/conformance/runs/{run.pk}/")
    printable = admin.get(f"/conformance/runs/{run.pk}/print/")
    api = admin.get(f"/api/conformance/runs/{run.pk}/")
    for response in (page, printable, api):
        assert response.status_code == 200
        body = response.content.decode()
        assert sim.password not in body
        assert "write.aux_relay_operations" in body
        keys = SimPrivateKey.objects.filter(mdc=sim).values_list("key", flat=True)
        assert keys
        for key in keys:
            assert key not in body
    assert "commands of this suite are real" in page.content.decode()
    pdf = admin.get(f"/conformance/runs/{run.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = pdf_text(pdf.content)
    assert "write.aux_relay_operations" in text and f"UDIL profile {profile.name}" in text
    assert sim.password not in text
    assert "authorization_service" in printable.content.decode()
    # a second copy of the task (a redelivered message) does nothing
    exchanges = {c.code: c.evidence for c in run.checks.all()}
    assert conformance_run_task.apply(args=[run.pk]).get() == RunState.PASSED
    again = ConformanceRun.objects.get(pk=run.pk)
    assert (again.done, again.passed, again.finished_at) == (run.done, run.passed, run.finished_at)
    assert {c.code: c.evidence for c in again.checks.all()} == exchanges
    assert AuditEntry.objects.filter(action="conformance.run_create", target_id=str(run.pk))
    assert AuditEntry.objects.filter(action="conformance.run_finish", target_id=str(run.pk))


def test_numbers_not_strings_fail_the_format_checks_only_and_the_diff_shows_it(
    registered, client_as
):
    """A vendor sending JSON numbers in rows breaks "every value is a string": exactly the
    checks of row formats fail (read APIs, on-demand response_data, transaction_status rows);
    authorization, commands, cancel, resend, malformed requests and event codes still pass.
    The same MDC before the fault passed, and the comparison names exactly those checks."""
    sim, mdc, ids = registered("confnum")
    admin = client_as("Administrator")
    before = run_suite(admin, mdc, ids)
    assert before.state == RunState.PASSED
    sim_faults_update(mdc=sim, number_style="number")
    after = run_suite(admin, mdc, ids)
    results = outcomes(after)
    failed = sorted(code for code, o in results.items() if o == CheckOutcome.FAILED)
    row_groups = {cat.READ, cat.ON_DEMAND, cat.TRACKING}
    expected = sorted(
        c.code for c in catalogue(get_profile(mdc.udil_profile)) if c.group in row_groups
    )
    assert failed == expected, [
        (c.code, c.summary) for c in after.checks.filter(outcome=CheckOutcome.FAILED)
    ]
    assert after.state == RunState.FAILED
    check = after.checks.get(code="read.instantaneous")
    assert "must be a string" in " ".join(check.evidence["notes"])

    diff = admin.get(f"/api/conformance/runs/{after.pk}/diff/", {"other": before.pk})
    assert diff.status_code == 200
    changed = sorted(r["code"] for r in diff.json() if r["changed"])
    assert changed == expected
    page = admin.get("/conformance/diff/", {"before": before.pk, "after": after.pk})
    assert page.status_code == 200
    assert f"<strong>{len(expected)}</strong> checks changed" in page.content.decode()


@pytest.mark.parametrize(
    ("fault", "note"),
    [
        ("quirk_extra_fields", "fields not in INSTANTANEOUS_DATA: firmware_version"),
        ("quirk_id_whitespace", "global_device_id has surrounding whitespace"),
    ],
)
def test_row_quirks_fail_the_row_format_checks_only(registered, client_as, fault, note):
    """Fields the table does not have, or ids padded with spaces (the MDM's loader tolerates
    both, a conformance bench does not): exactly the checks of rows fail."""
    _, mdc, ids = registered(f"confq{fault[6:11]}", **{fault: True})
    run = run_suite(client_as("Administrator"), mdc, ids)
    failed = sorted(c for c, o in outcomes(run).items() if o == CheckOutcome.FAILED)
    row_groups = {cat.READ, cat.ON_DEMAND, cat.TRACKING}
    assert failed == sorted(
        c.code for c in catalogue(get_profile(mdc.udil_profile)) if c.group in row_groups
    )
    assert note in " ".join(run.checks.get(code="read.instantaneous").evidence["notes"])


@pytest.mark.parametrize("fault", ["error_500_rate", "malformed_rate"])
def test_500s_fail_everything_but_the_refusals_before_authentication(registered, client_as, fault):
    """The simulated MDC's 500s (or malformed answers) bite only after authentication: a wrong
    password and an unknown key are still refused with 401; every other check fails, with the
    broken answer as evidence."""
    _, mdc, ids = registered(f"conf{fault[:5]}", **{fault: 1.0})
    admin = client_as("Administrator")
    run = run_suite(admin, mdc, ids)
    results = outcomes(run)
    passed = sorted(code for code, o in results.items() if o == CheckOutcome.PASSED)
    assert passed == ["auth.bad_key", "auth.wrong_password"], passed
    assert not [c for c, o in results.items() if o == CheckOutcome.PENDING]
    assert run.state == RunState.FAILED
    check = run.checks.get(code="read.load_profile")
    statuses = {x.get("response", {}).get("status") for x in check.evidence["exchanges"]}
    if fault == "error_500_rate":
        assert 500 in statuses
    else:  # answered 200, but not with a UDIL body (the key's answer already)
        assert 200 in statuses and "invalid JSON" in check.summary, check.summary
