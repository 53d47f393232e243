"""Shared checks of list pages and API lists, for every app's tests (#15)."""

from __future__ import annotations

import re

from django.test import Client


def list_page_rows(client: Client, url: str) -> list[str]:
    """The list page's table rows as text (one string per ``<tr>`` of the body); the page must
    answer 200 and say its row count."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    assert 'class="text-muted small mb-0 me-auto row-count"' in html, "no row count shown"
    body = html.split("<tbody", 1)[1].split("</tbody>", 1)[0] if "<tbody" in html else ""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def api_list_results(client: Client, url: str) -> list[dict]:
    """An API list's results (paged or not), answering 200."""
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    data = response.json()
    return data["results"] if isinstance(data, dict) and "results" in data else data


def assert_page_and_api_agree(client: Client, page_url: str, api_url: str, key: str) -> None:
    """The page and the API, given the same filter, list the same objects (by ``key``)."""
    rows = list_page_rows(client, page_url)
    results = api_list_results(client, api_url)
    assert len(rows) == len(results), (len(rows), len(results))
    for item in results:
        assert any(str(item[key]) in row for row in rows), f"{item[key]} not on {page_url}"
