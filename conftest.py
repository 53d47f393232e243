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
