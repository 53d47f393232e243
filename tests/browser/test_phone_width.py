"""The field staff's pages at a phone's width (390 px): the meter page, the work orders, the
consumers and the search have no horizontal page scroll (a wide table scrolls in its own box).
One browser context at 390 px on this module's portal (see conftest.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.registry.models import Meter
from tests.browser.conftest import _logged_in_cookie

pytestmark = pytest.mark.slow  # the last test is made transactional by conftest.py
PHONE = 390


def test_field_pages_have_no_horizontal_scroll_at_390_px(portal, browser, django_db_blocker):
    with django_db_blocker.unblock():
        meter = Meter.objects.order_by("global_device_id").first()
        paths = [
            meter.get_absolute_url(),
            reverse("workflows:order-list"),
            reverse("registry:consumer-list"),
            f"{reverse('search')}?q={meter.global_device_id[:4]}",
        ]
        cookie = _logged_in_cookie(portal.user, portal.url)
    context = browser.new_context(
        viewport={"width": PHONE, "height": 844}, timezone_id="Asia/Karachi"
    )
    try:
        context.add_cookies([cookie])
        tab = context.new_page()
        too_wide = []
        for path in paths:
            response = tab.goto(portal.path(path), wait_until="load")
            assert response is not None and response.status == 200, f"{path}: {response.status}"
            width = tab.evaluate(
                "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            )
            if width > PHONE:
                too_wide.append(f"{path}: {width} px")
        assert not too_wide, f"wider than a {PHONE} px phone: " + ", ".join(too_wide)
    finally:
        context.close()
