"""Real browser tests: Playwright driving Debian's chromium against the portal served over
HTTP on 127.0.0.1, over the embedded PostgreSQL, the simulator being the MDC.

- chromium comes from Debian's ``chromium`` package, installed by the session fixture when it is
  missing (CI runs as root with no standard input); Playwright downloads no browser.
- One browser for the session; each test gets a new context (cheap) already logged in by a
  session cookie (the login form has its own test).
- Each test's portal has the demo's data: two simulated MDCs served by the portal itself under
  /sim/, their meters registered and their load profile pulled over HTTP. The tests are
  transactional (the live server's threads see the data); their data goes as any such test's.
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

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are ordinary blocking calls in between, never inside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

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
HOSTS: set[str] = set()  # every host:port the browser asked, over all tests


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


@pytest.fixture(scope="session")
def browser(chromium_path):
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


@pytest.fixture
def portal(live_server, browser, django_user_model):
    """The portal served on 127.0.0.1 (pytest-django's live server, a real HTTP server in a
    thread) with the demo loaded (its simulated MDCs are served by the same server under /sim/,
    their load profile pulled over HTTP), and a browser context of an Administrator."""
    from django.contrib.auth.models import Group

    from apps.ingestion.services import pull_run
    from mdm.celery import app as celery_app
    from mdm.demo import demo_load

    url = live_server.url.replace("localhost", "127.0.0.1")
    user = django_user_model.objects.create_user(username="browser", password=PASSWORD)
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
    context.close()
    HOSTS.update(portal.hosts)
    celery_app.control.purge()  # tasks enqueued on commit: no worker consumes them here


@pytest.fixture
def page(request, portal):
    """A tab of the logged-in context. A failure leaves a screenshot and the HTML under
    var/browser-artifacts/."""
    tab = portal.context.new_page()
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
