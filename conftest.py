"""Test-wide fixtures. The database and broker are real: embedded PostgreSQL and Redis unless
DATABASE_URL / REDIS_URL name external servers (see mdm.settings)."""

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests must not fail because the machine is busy: Hypothesis's default 200 ms
# deadline per example turns CI load into failures, so no test in this suite has a deadline.
hypothesis_settings.register_profile("mdm", deadline=None, print_blob=True)
hypothesis_settings.load_profile("mdm")


@pytest.fixture(scope="session", autouse=True)
def _no_persistent_connections():
    """Live-server threads must not keep database connections open past a test: with
    persistent connections the test database could not be dropped at the end."""
    from django.db import connections

    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = 0
        connections[alias].settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture
def make_user(db, django_user_model):
    """``make_user("Operator")`` -> a logged-in-able user holding that role."""

    def make(role: str | None = None, username: str | None = None, **extra):
        from django.contrib.auth.models import Group

        name = username or f"{(role or 'plain').lower().replace(' ', '_')}_{make.count}"
        make.count += 1
        user = django_user_model.objects.create_user(
            username=name, password="pw-Secret-123", **extra
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    make.count = 0
    return make


@pytest.fixture
def client_as(client, make_user):
    """``client_as("Viewer")`` -> a test client logged in with that role."""

    def login(role: str | None = None):
        client.force_login(make_user(role))
        return client

    return login


@pytest.fixture(autouse=True)
def _unmanaged_tables_emptied_after_transactional_tests(request, django_db_blocker):
    """A transactional test ends with Django flushing the tables it manages, but not the
    warehouse's partitioned tables (``managed = False``). Rows left there would meet the next
    test that reuses a device id (simulated fleets reuse free id prefixes), so such a test would
    pass or fail by the order the suite runs in. Empty them the same way."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional:
        return
    from django.apps import apps
    from django.db import connection

    tables = sorted(
        model._meta.db_table
        for model in apps.get_models()
        if not model._meta.managed and not model._meta.proxy
    )
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(relname) FROM pg_class WHERE relname = ANY(%s)"
            " AND relkind IN ('r', 'p') AND pg_table_is_visible(oid)",
            [tables],
        )
        present = [name for (name,) in cursor.fetchall()]
        if present:
            cursor.execute(f"TRUNCATE {', '.join(present)}")
