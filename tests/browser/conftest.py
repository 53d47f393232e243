"""Real browser tests: Playwright driving Debian's chromium against the portal served over
HTTP on 127.0.0.1, over the embedded PostgreSQL, the simulator being the MDC.

- chromium comes from Debian's ``chromium`` package, installed by the session fixture when it is
  missing (CI runs as root with no standard input); Playwright downloads no browser.
- One browser for this package's tests (``DJANGO_ALLOW_ASYNC_UNSAFE`` set only while they
  run), one context per module logged in by a session cookie (the login form has its own
  test), one portal per module: the demo's two simulated MDCs served by the portal itself
  under /sim/, their meters registered and their load profile pulled over HTTP. The tests of a
  module run in file order on it; its last test is transactional, so the module's rows go at
  its end (see ``portal``).
- Every request the browser makes is recorded: the tests check none leaves 127.0.0.1.
- A failing test leaves a screenshot and the page's HTML under ``var/browser-artifacts/``;
  page widths and load times are printed at the end of the run and written there too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "browser-artifacts"
WIDTH, HEIGHT = 1366, 768
PASSWORD = "Browser-Secret-123"
MEASURES: list[tuple[str, int, float]] = []  # (path, scrollWidth, load ms) of the width test


def _install_chromium() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    done = None
    for step in (install, ["apt-get", "update", "-q"], install):
        done = subprocess.run(
            step, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=900, check=False
        )
        if step is install and done.returncode == 0:
            return
    raise RuntimeError(f"apt-get install chromium failed: {done.stderr.decode()[-500:]}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM) and shutil.which("chromium") is None:
        _install_chromium()
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    assert path, "Debian's chromium is not installed"
    return path


@pytest.fixture(scope="package", autouse=True)
def async_unsafe_allowed():
    """Playwright's sync API keeps an event loop running in this thread while the browser is
    up, so Django would refuse the ORM calls the tests make between browser steps (ordinary
    blocking calls, never inside the loop). Allowed for this package's tests only, the
    environment restored after them: no other test (nor the production check's subprocess,
    which refuses the variable: async.E001) sees it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


# package-scoped like the variable: the loop it keeps running ends with this package's tests
@pytest.fixture(scope="package")
def browser(chromium_path, async_unsafe_allowed):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class Portal:
    url: str
    user: object
    context: object
    hosts: set[str] = field(default_factory=set)

    def path(self, path: str) -> str:
        return self.url + path


def _logged_in_cookie(user, url: str) -> dict:
    """The session cookie of ``user``, made as Django's test client's force_login makes it (the
    login form itself is exercised by test_login_form)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


@pytest.fixture(scope="module")
def portal(django_db_setup, django_db_blocker, browser):
    """The portal served on 127.0.0.1 (Django's live server thread, real HTTP) with the demo
    loaded (its simulated MDCs are served by the same server under /sim/, their load profile
    pulled over HTTP), and a browser context of an Administrator: made once per module.

    Its rows are committed (the server's threads must see them), and the module's last test is
    transactional (``pytest_collection_finish`` marks it), so they go when it ends, as any
    transactional test's rows do."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    from apps.ingestion.services import pull_run
    from mdm.celery import app as celery_app
    from mdm.demo import demo_load

    with django_db_blocker.unblock():
        server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)  # the finders' files
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        url = f"http://127.0.0.1:{server.port}"
        context = None
        try:
            user = get_user_model().objects.create_user(username="browser", password=PASSWORD)
            user.groups.add(Group.objects.get(name="Administrator"))
            for mdc in demo_load(base_url=url, meters_per_mdc=3, days=2):
                run = pull_run(mdc_id=mdc.pk, dataset_code="load_profile")
                assert run.outcome == "succeeded", run.error
            context = browser.new_context(
                viewport={"width": WIDTH, "height": HEIGHT},
                accept_downloads=True,
                timezone_id="Asia/Karachi",
            )
            context.set_default_timeout(20_000)
            portal = Portal(url=url, user=user, context=context)
            context.on("request", lambda request: portal.hosts.add(urlsplit(request.url).netloc))
            context.add_cookies([_logged_in_cookie(user, url)])
            yield portal
        finally:
            if context is not None:
                context.close()
            server.terminate()
            celery_app.control.purge()  # tasks enqueued on commit: no worker consumes them here


def pytest_collection_finish(session):
    """The last browser test of each module is transactional: the session sets the test
    database up for it, and its end removes the module's committed rows (see ``portal``)."""
    last = {}
    for item in session.items:
        if Path(str(item.fspath)).parent == Path(__file__).parent and "portal" in getattr(
            item, "fixturenames", ()
        ):
            last[item.module] = item
    for item in last.values():
        item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture
def page(request, portal, django_db_blocker):
    """A tab of the module's logged-in context, the database open to the test's own checks. A
    failure leaves a screenshot and the HTML under var/browser-artifacts/."""
    tab = portal.context.new_page()
    with django_db_blocker.unblock():
        yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / request.node.name.replace("/", "_")
        try:
            tab.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.html").write_text(tab.content())
        except Exception as exc:  # the page may be gone; the report still stands
            Path(f"{stem}.txt").write_text(f"no screenshot: {exc}")
    tab.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def pytest_terminal_summary(terminalreporter):
    if not MEASURES:
        return
    lines = [f"{'page':<58} {'width px':>8} {'load ms':>8}"]
    lines += [f"{path:<58} {width:>8} {ms:>8.0f}" for path, width, ms in MEASURES]
    widest = max(w for _, w, _ in MEASURES)
    slowest = max(ms for _, _, ms in MEASURES)
    lines.append(
        f"{len(MEASURES)} pages at {WIDTH} px: widest {widest} px, slowest {slowest:.0f} ms"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "page-widths.txt").write_text("\n".join(lines) + "\n")
    terminalreporter.section("browser: page width and load time at 1366 px")
    for line in lines:
        terminalreporter.write_line(line)
