"""Validation's reads of the warehouse plan by the primary key; its rules over the TEMP tables
keep the default plans (a sequential scan of a TEMP table is what a rule needs)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from apps.vee.services.validation import validation_run

from .conftest import DAY, load, lp_rows

pytestmark = pytest.mark.django_db

_WATCHED = ("CREATE TEMP TABLE vee_derived", "CREATE TEMP TABLE vee_history", "INSERT INTO vee_")


def test_the_derivation_plans_by_the_primary_key_and_the_rules_do_not(meter):
    rows = lp_rows(meter, [Decimal("1")] * 48)
    load(meter, [row for i, row in enumerate(rows) if i not in (10, 11)])  # a gap to estimate
    seen: dict[str, set[tuple[str, str, str]]] = {}

    def wrapper(execute, sql, params, many, context):
        statement = " ".join(sql.split())
        watched = next((w for w in _WATCHED if statement.startswith(w)), None)
        if watched:
            cursor = context["cursor"]
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('enable_bitmapscan'),"
                " current_setting('work_mem')"
            )
            seen.setdefault(watched, set()).add(tuple(cursor.fetchone()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        run = validation_run(start=DAY, end=DAY + dt.timedelta(days=1), estimate=True)
    assert run.estimated == 3  # the two missing and the reading after them
    by_key = {("off", "off", "64MB")}
    assert seen["CREATE TEMP TABLE vee_derived"] == by_key
    assert seen["CREATE TEMP TABLE vee_history"] == by_key
    # every rule, the merge and the estimates' inserts: the settings were restored
    assert ("off", "off", "64MB") not in seen["INSERT INTO vee_"]
    assert {s[:2] for s in seen["INSERT INTO vee_"]} == {("on", "on")}
