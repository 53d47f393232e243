"""factory-boy factories for the registry (colleagues import these in their tests).

``MeterFactory()`` makes a meter with its MDC, a whole hierarchy branch and a consumer;
``MeterFactory(transformer=None, consumer=None)`` makes a bare one.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from apps.registry.device_ids import device_ids_next
from apps.registry.models import (
    Circle,
    Consumer,
    Disco,
    Division,
    Feeder,
    Mdc,
    Meter,
    Subdivision,
    Transformer,
)


class DiscoFactory(factory.django.DjangoModelFactory):
    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"Disco {n}")

    class Meta:
        model = Disco
        django_get_or_create = ("code",)


class CircleFactory(factory.django.DjangoModelFactory):
    disco = factory.SubFactory(DiscoFactory)
    code = factory.Sequence(lambda n: f"C{n:03d}")
    name = factory.Sequence(lambda n: f"Circle {n}")

    class Meta:
        model = Circle


class DivisionFactory(factory.django.DjangoModelFactory):
    circle = factory.SubFactory(CircleFactory)
    code = factory.Sequence(lambda n: f"DV{n:03d}")
    name = factory.Sequence(lambda n: f"Division {n}")

    class Meta:
        model = Division


class SubdivisionFactory(factory.django.DjangoModelFactory):
    division = factory.SubFactory(DivisionFactory)
    code = factory.Sequence(lambda n: f"SD{n:03d}")
    name = factory.Sequence(lambda n: f"Subdivision {n}")

    class Meta:
        model = Subdivision


class FeederFactory(factory.django.DjangoModelFactory):
    subdivision = factory.SubFactory(SubdivisionFactory)
    code = factory.Sequence(lambda n: f"F{n:03d}")
    name = factory.Sequence(lambda n: f"Feeder {n}")

    class Meta:
        model = Feeder


class TransformerFactory(factory.django.DjangoModelFactory):
    feeder = factory.SubFactory(FeederFactory)
    code = factory.Sequence(lambda n: f"T{n:04d}")
    name = factory.Sequence(lambda n: f"Transformer {n}")
    capacity_kva = Decimal("100.000")

    class Meta:
        model = Transformer


class ConsumerFactory(factory.django.DjangoModelFactory):
    reference_no = factory.Sequence(lambda n: f"0112345{n:07d}")
    name = factory.Sequence(lambda n: f"Consumer {n}")
    address = "House 1, Street 2, Lahore"
    tariff = "A-1"
    sanctioned_load_kw = Decimal("5.000")
    phase = 1
    connection_status = "active"

    class Meta:
        model = Consumer


class MdcFactory(factory.django.DjangoModelFactory):
    code = factory.Sequence(lambda n: f"mdc-{n}")
    name = factory.Sequence(lambda n: f"Vendor head end {n}")
    vendor = "Acme Meters"
    transport = "api"
    base_url = factory.Sequence(lambda n: f"http://127.0.0.1:9/mdc{n}")
    data_format = "json"
    credentials_in = "headers"
    username = "mdm"
    password = "secret-pass"
    auth_code = "secret-code"

    class Meta:
        model = Mdc


class MeterFactory(factory.django.DjangoModelFactory):
    global_device_id = factory.LazyFunction(lambda: device_ids_next(1)[0])
    msn = factory.Sequence(lambda n: 4098000000 + n)
    mdc = factory.SubFactory(MdcFactory)
    device_type = 1
    phase = 1
    meter_type = 1
    communication_mode = 1
    communication_type = 0
    mdi_reset_date = 1
    mdi_reset_time = datetime.time(0, 0)
    activation_status = 1
    transformer = factory.SubFactory(TransformerFactory)
    consumer = factory.SubFactory(ConsumerFactory)
    profile_hint = "domestic"

    class Meta:
        model = Meter
