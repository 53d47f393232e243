"""The portal as its users see it, in Debian's chromium (see conftest.py): log in, search, the
meter page's chart, a command watched to completion, a CSV import with a bad row, a filtered
export, every main page within 1366 px, and no request leaving 127.0.0.1.

The tests of this module share one portal (the demo's two simulated MDCs, three meters each);
they run in file order and the last one checks the hosts all of them reached.
"""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from playwright.sync_api import expect

from apps.commands.choices import RequestState, TransactionState
from apps.commands.models import CommandRequest
from apps.commands.services import transactions_poll
from apps.commands.tasks import command_dispatch_task
from apps.registry.models import Circle, Disco, Mdc, Meter
from apps.simulator.models import SimMdc
from tests.browser.conftest import MEASURES, PASSWORD, WIDTH

pytestmark = pytest.mark.slow  # the last test is made transactional by conftest.py


def _meter() -> Meter:
    return Meter.objects.select_related("mdc").order_by("global_device_id").first()


def test_login_form_lets_a_user_in(portal, browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": 768})
    try:
        page = context.new_page()
        page.goto(portal.path("/"))
        page.wait_for_url("**/accounts/login/**")
        page.fill("#id_username", portal.user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(portal.path("/"))
        assert portal.user.username in page.inner_text("nav")
    finally:
        context.close()


def test_navbar_search_finds_a_meter_and_its_page_draws_the_chart(portal, page):
    meter = _meter()
    page.goto(portal.path("/"))
    page.fill("nav input[name=q]", meter.global_device_id)
    page.press("nav input[name=q]", "Enter")
    # a single exact hit opens the meter itself
    page.wait_for_url(f"**{meter.get_absolute_url()}")
    assert meter.global_device_id in page.inner_text("h1")
    page.wait_for_selector("div.plotly-chart svg.main-svg", state="attached")
    assert page.locator("div.plotly-chart[data-drawn='1']").count() >= 1


def test_navbar_search_groups_several_hits_by_kind(portal, page):
    mdc = Mdc.objects.order_by("code").first()
    page.goto(portal.path("/"))
    page.fill("nav input[name=q]", "demo")
    page.press("nav input[name=q]", "Enter")
    page.wait_for_selector("#search-results")
    assert page.locator("#search-results h2", has_text="MDCs").count() == 1
    page.click(f"#search-results a:text-is('{mdc.code}')")
    page.wait_for_url(f"**{mdc.get_absolute_url()}")


def test_a_command_sent_from_the_console_is_watched_to_completion(portal, page):
    # the simulated head end moves a level every 0.4 s (not the demo's 10 s) and fails nothing
    SimMdc.objects.update(command_pace_seconds=0.4, failure_rate=0)
    meters = list(Meter.objects.filter(mdc__code="demo_alpha").order_by("global_device_id"))
    page.goto(portal.path(reverse("commands:request-new")))
    page.fill("textarea[name=pasted]", "\n".join(m.global_device_id for m in meters))
    page.select_option("select[name=command]", "time_synchronization")
    page.click("text=Next: parameters")
    page.click("text=Next: review")
    page.click("text=Confirm and send")
    page.wait_for_selector("#progress")
    request = CommandRequest.objects.latest("pk")
    assert page.url.endswith(request.get_absolute_url())
    assert request.command == "time_synchronization"
    # the worker's part, done here: dispatch each transaction, then poll the MDC (real HTTP to
    # the simulator served by the same portal); the open page follows by its own polling
    for tx in request.transactions.filter(state=TransactionState.PENDING):
        assert command_dispatch_task.apply(args=[tx.pk]).get() == "sent"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        transactions_poll(mdc_id=meters[0].mdc_id, due_only=False)
        request.refresh_from_db()
        if request.state == RequestState.COMPLETED:
            break
        time.sleep(0.5)
    assert request.state == RequestState.COMPLETED
    # locator assertions (the page's CSP refuses evaluated strings, so no wait_for_function)
    expect(page.locator("#progress-bar")).to_have_text("100%", timeout=30_000)
    expect(page.locator("#request-state")).to_have_text("Completed", timeout=30_000)


def test_a_csv_import_with_a_bad_row_shows_the_error_and_keeps_the_good_rows(
    portal, page, tmp_path
):
    mdc = Mdc.objects.order_by("code").first()
    upload = tmp_path / "meters.csv"
    upload.write_text(
        "global_device_id,msn,mdc\n"
        f"m91000001,4091000001,{mdc.code}\n"
        f"m91000002,not-a-number,{mdc.code}\n"
        f"m91000003,4091000003,{mdc.code}\n"
    )
    page.goto(portal.path(reverse("registry:meter-import")))
    page.set_input_files("input[type=file]", str(upload))
    if page.is_checked("input[name=all_or_nothing]"):
        page.uncheck("input[name=all_or_nothing]")
    page.click("button:text-is('Import')")
    page.wait_for_selector("#import-report")
    report = page.inner_text("#import-report")
    assert "3 rows read" in report
    assert "2 meters created" in report
    assert "msn" in page.inner_text("#import-report table")  # line 3's problem named
    assert set(
        Meter.objects.filter(global_device_id__startswith="m91").values_list(
            "global_device_id", flat=True
        )
    ) == {"m91000001", "m91000003"}


def test_a_filtered_list_exports_exactly_its_rows(portal, page):
    page.goto(portal.path(reverse("registry:meter-list") + "?mdc=demo_beta"))
    expected = set(
        Meter.objects.filter(mdc__code="demo_beta").values_list("global_device_id", flat=True)
    )
    assert expected and len(expected) < Meter.objects.count()
    assert page.locator("table tbody tr").count() == len(expected)
    with page.expect_download() as download:
        page.click("text=Export CSV")
    body = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header = rows[0]
    column = next(i for i, name in enumerate(header) if "device" in name.lower())
    assert {row[column] for row in rows[1:]} == expected


def test_hierarchy_filters_narrow_each_other(portal, page):
    other = Disco.objects.create(code="XDISCO", name="Another DISCO")
    Circle.objects.create(disco=other, code="XCIRCLE", name="Another circle")
    disco = Disco.objects.exclude(pk=other.pk).order_by("pk").first()
    ours = {str(pk) for pk in Circle.objects.filter(disco=disco).values_list("pk", flat=True)}
    shown = "select => [...select.options].filter(o => o.value && !o.hidden).map(o => o.value)"
    page.goto(portal.path(reverse("registry:meter-list")))
    assert len(page.eval_on_selector("select[name=circle]", shown)) == Circle.objects.count()
    page.select_option("select[name=disco]", str(disco.pk))
    assert set(page.eval_on_selector("select[name=circle]", shown)) == ours
    # the levels below follow: no division of the other DISCO's circle is offered
    divisions = set(page.eval_on_selector("select[name=division]", shown))
    assert divisions == {
        str(pk) for pk in disco.circles.values_list("divisions__pk", flat=True) if pk
    }


def _main_pages() -> list[str]:
    paths = [reverse("home")]
    for config in django_apps.get_app_configs():
        paths += [reverse(name) for _, name, _ in getattr(config, "nav_items", [])]
    meter = _meter()
    paths += [meter.get_absolute_url(), meter.mdc.get_absolute_url()]
    latest = CommandRequest.objects.order_by("-pk").first()
    if latest is not None:
        paths.append(latest.get_absolute_url())
    paths.append(reverse("search") + "?q=m")
    return list(dict.fromkeys(paths))


def test_no_main_page_is_wider_than_the_window(portal, page):
    too_wide = []
    for path in _main_pages():
        started = time.perf_counter()
        response = page.goto(portal.path(path), wait_until="load")
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert response is not None and response.status == 200, f"{path}: {response.status}"
        width = page.evaluate(
            "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        MEASURES.append((path, width, elapsed_ms))
        if width > WIDTH:
            too_wide.append(f"{path}: {width} px")
    assert not too_wide, "wider than the window at 1366 px: " + ", ".join(too_wide)


def test_no_request_left_127_0_0_1(portal, page):
    """Every host the browser asked in this module's tests (run before this one, in the same
    context) and on the dashboard and the meter page here: 127.0.0.1 alone."""
    page.goto(portal.path("/"))
    page.goto(portal.path(_meter().get_absolute_url()))
    page.wait_for_load_state("networkidle")
    hosts = portal.hosts
    assert hosts, "the browser made no requests"
    assert {host.rsplit(":", 1)[0] for host in hosts} == {"127.0.0.1"}, hosts
