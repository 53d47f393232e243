"""Property tests of the whole REST API from its own OpenAPI schema (schemathesis).

Every operation gets a few generated requests, valid and invalid, as an Administrator (who may
call everything). The run fails on any 5xx, on an answer whose status code, content type or body
the schema does not document. Bounded and derandomized: the same cases every run, a few
examples per operation, so it stays well under three minutes on two cores.
"""

from __future__ import annotations

import base64
import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

PASSWORD = "pw-Secret-123"  # the make_user fixture's password
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 10


DOCUMENT = json.loads(
    json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str)
)


def _schema() -> schemathesis.schemas.BaseSchema:
    document = DOCUMENT
    # Fuzzing only: the coverage phase adds dozens of boundary cases per operation whatever
    # max_examples says, which would take the run past its few minutes.
    config = SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
    )
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(document)), config=config)
    loaded.app = get_wsgi_application()
    # the schema document itself is drf-spectacular's (YAML by default), not part of the API
    return loaded.exclude(path="/api/schema/")


schema = _schema()


@pytest.fixture
def _keep_the_test_connection():
    """Calls go to the WSGI application in this process; like Django's test client, keep it
    from closing the database connection (and with it the test's transaction) after each."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def administrator_auth(make_user, settings, _keep_the_test_connection):
    # A quick hasher: Basic auth checks the password on every one of hundreds of calls.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.API_RATE_USER = "off"
    user = make_user("Administrator")
    token = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_follow_the_schema(case, administrator_auth):
    # Each call in a savepoint rolled back after it: a request the database refused must not
    # poison the test's transaction, and generated writes do not pile up.
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=administrator_auth)
    finally:
        transaction.savepoint_rollback(savepoint)
    case.validate_response(response, checks=CHECKS)


def test_the_schema_says_what_the_answers_are():
    meter = DOCUMENT["components"]["schemas"]["Meter"]["properties"]
    assert meter["transformer_code"].get("nullable") is True
    assert meter["consumer_reference_no"].get("nullable") is True
    assert meter["mdi_reset_time"].get("format") != "time"  # no offset in 00:00:00
    health = DOCUMENT["paths"]["/api/ingestion/health/"]["get"]["responses"]["200"]
    assert health["content"]["application/json"]["schema"]["type"] == "array"
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            documented = set(operation["responses"])
            assert {"400", "401", "403", "404", "429"} <= documented, (method, path)
