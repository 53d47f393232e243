import re

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from apps.registry import services
from apps.registry.device_ids import device_id_pattern, device_ids_next

pytestmark = pytest.mark.django_db


def test_default_pattern_is_m_and_eight_digits(admin_user, mdc):
    meter = services.meter_register(actor=admin_user, msn=4098562412, mdc=mdc)
    assert re.fullmatch(r"m\d{8}", meter.global_device_id)


def test_pattern_from_settings(admin_user, mdc, settings):
    settings.DEVICE_ID_PREFIX = "LESCO-"
    settings.DEVICE_ID_DIGITS = 10
    meter = services.meter_register(actor=admin_user, msn=1, mdc=mdc)
    assert re.fullmatch(r"LESCO-\d{10}", meter.global_device_id)


@pytest.mark.parametrize(
    ("prefix", "digits"), [("m", "abc"), ("m", "0"), ("bad prefix", "8"), ("m", "60")]
)
def test_bad_pattern_settings_fail_loudly(settings, prefix, digits):
    settings.DEVICE_ID_PREFIX = prefix
    settings.DEVICE_ID_DIGITS = digits
    with pytest.raises(ImproperlyConfigured):
        device_id_pattern()


def test_ids_are_unique_and_skip_explicitly_taken_ones(admin_user, mdc):
    upcoming = device_ids_next(1)[0]
    number = int(upcoming[1:])
    # someone registered the next two numbers explicitly
    taken = [f"m{number + 1:08d}", f"m{number + 2:08d}"]
    for i, gdid in enumerate(taken):
        services.meter_register(actor=admin_user, msn=500 + i, mdc=mdc, global_device_id=gdid)
    ids = device_ids_next(50)
    assert len(set(ids)) == 50
    assert not set(ids) & set(taken)


def test_explicit_id_is_validated(admin_user, mdc):
    meter = services.meter_register(actor=admin_user, msn=7, mdc=mdc, global_device_id="m98562412")
    assert meter.global_device_id == "m98562412"
    for bad in ["m98562412", "has space", "x" * 51, "ünï"]:
        with pytest.raises(ValidationError) as info:
            services.meter_register(actor=admin_user, msn=8, mdc=mdc, global_device_id=bad)
        assert "global_device_id" in info.value.message_dict


def test_sequence_overflow_is_reported(settings):
    settings.DEVICE_ID_DIGITS = 1
    with pytest.raises(ImproperlyConfigured):
        device_ids_next(20)
