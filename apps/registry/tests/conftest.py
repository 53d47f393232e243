import pytest

from apps.registry.tests.factories import MdcFactory


@pytest.fixture
def mdc(db):
    return MdcFactory(code="acme", name="Acme head end")


@pytest.fixture
def admin_user(make_user):
    return make_user("Administrator")
