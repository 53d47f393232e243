"""The registry: MDCs (vendor head ends), the network hierarchy, consumers and meters."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from apps.core.defaults import midnight
from apps.registry import validation
from apps.registry.choices import (
    ActivationStatus,
    CommunicationMode,
    CommunicationType,
    ConnectionStatus,
    CredentialsIn,
    DataFormat,
    DeviceType,
    LpEnergyKind,
    MeterType,
    Phase,
    ProfileHint,
    RelayState,
    Transport,
    UdilProfile,
)
from apps.registry.fields import EncryptedTextField

CODE_VALIDATOR = RegexValidator(r"^[A-Za-z0-9_.-]+$", "Letters, digits, '_', '.', '-' only.")


def default_window_minutes() -> dict[str, int]:
    return {
        "instantaneous": 60,
        "billing": 1440,
        "monthly_billing": 44640,
        "load_profile": 1440,
        "events": 1440,
        "meter_visuals": 1440,
    }


def default_pull_intervals() -> dict[str, int]:
    return {
        "instantaneous": 15,
        "billing": 60,
        "monthly_billing": 1440,
        "load_profile": 30,
        "events": 15,
        "meter_visuals": 15,
    }


# --- network hierarchy -------------------------------------------------------------------------


class HierarchyNode(models.Model):
    code = models.CharField(max_length=50, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}" if self.name else self.code

    def get_absolute_url(self) -> str:
        return reverse("registry:node-detail", args=[self._meta.model_name, self.pk])


class Disco(HierarchyNode):
    code = models.CharField(max_length=50, unique=True, validators=[CODE_VALIDATOR])

    class Meta(HierarchyNode.Meta):
        verbose_name = "DISCO"
        verbose_name_plural = "DISCOs"


class Circle(HierarchyNode):
    disco = models.ForeignKey(Disco, on_delete=models.PROTECT, related_name="circles")

    class Meta(HierarchyNode.Meta):
        constraints = [
            models.UniqueConstraint(fields=["disco", "code"], name="registry_circle_code_uniq")
        ]


class Division(HierarchyNode):
    circle = models.ForeignKey(Circle, on_delete=models.PROTECT, related_name="divisions")

    class Meta(HierarchyNode.Meta):
        constraints = [
            models.UniqueConstraint(fields=["circle", "code"], name="registry_division_code_uniq")
        ]


class Subdivision(HierarchyNode):
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="subdivisions")

    class Meta(HierarchyNode.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["division", "code"], name="registry_subdivision_code_uniq"
            )
        ]


class Feeder(HierarchyNode):
    subdivision = models.ForeignKey(Subdivision, on_delete=models.PROTECT, related_name="feeders")

    class Meta(HierarchyNode.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["subdivision", "code"], name="registry_feeder_code_uniq"
            )
        ]


class Transformer(HierarchyNode):
    feeder = models.ForeignKey(Feeder, on_delete=models.PROTECT, related_name="transformers")
    capacity_kva = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True, validators=[MinValueValidator(0)]
    )

    class Meta(HierarchyNode.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["feeder", "code"], name="registry_transformer_code_uniq"
            )
        ]


# --- consumers ---------------------------------------------------------------------------------


class Consumer(models.Model):
    reference_no = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    tariff = models.CharField(max_length=20, blank=True, help_text="e.g. A-1, B-2, C-1")
    sanctioned_load_kw = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    phase = models.PositiveSmallIntegerField(choices=Phase.choices, default=Phase.SINGLE)
    connection_status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["reference_no"]

    def __str__(self) -> str:
        return f"{self.reference_no} · {self.name}"

    def clean(self) -> None:
        # address is a TextField: its length is the rule's, not the database's
        problem = validation.text_problem(
            self.address, name="address", max_length=validation.ADDRESS_MAX_LENGTH
        )
        if problem:
            raise ValidationError({"address": problem})


# --- MDCs --------------------------------------------------------------------------------------


class Mdc(models.Model):
    """A vendor head end (Meter Data Collector). Vendor differences live in these fields."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    vendor = models.CharField(max_length=100, blank=True)
    udil_profile = models.CharField(
        max_length=10, choices=UdilProfile.choices, default=UdilProfile.UDIL_2019
    )
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.API)
    base_url = models.URLField(max_length=500, blank=True)
    data_format = models.CharField(
        max_length=4, choices=DataFormat.choices, default=DataFormat.JSON
    )
    credentials_in = models.CharField(
        max_length=10, choices=CredentialsIn.choices, default=CredentialsIn.HEADERS
    )
    username = models.CharField(max_length=150, blank=True)
    password = EncryptedTextField(blank=True)
    # The UDIL authorization "code" (``code`` itself is this MDC's slug in the MDM).
    auth_code = EncryptedTextField("authorization code", blank=True, help_text="UDIL 'code'")
    path_overrides = models.JSONField(
        default=dict, blank=True, help_text='{"service_name": "path"}, e.g. {"events": "ev"}'
    )
    timeout_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    batch_size = models.PositiveIntegerField(
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="Devices per request.",
    )
    window_minutes = models.JSONField(
        default=default_window_minutes, blank=True, help_text="{dataset_code: minutes per request}"
    )
    tabular_database_url = EncryptedTextField(blank=True)
    tabular_views = models.JSONField(
        default=dict, blank=True, help_text='{"TABLE_ID": "view name"}'
    )
    tabular_mark_synced = models.BooleanField(
        "mark tabular rows synced",
        default=False,
        help_text="UDIL 3.3: set is_synced = 1 on the MDC's rows once they are committed here "
        "(the MDC may then purge them). Needs write access to its tables.",
    )
    file_directory = models.CharField(
        "delivery directory",
        max_length=500,
        blank=True,
        help_text="Flat-file transport: the directory this MDC delivers its CSV files to.",
    )
    pull_intervals = models.JSONField(
        default=default_pull_intervals, blank=True, help_text="{dataset_code: minutes}"
    )
    key_lifetime_minutes = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)]
    )
    lp_energy_kind = models.CharField(
        "load profile energy",
        max_length=8,
        choices=LpEnergyKind.choices,
        default=LpEnergyKind.REGISTER,
        help_text="What the MDC sends in load profile energy fields: the meters' cumulative "
        "registers (UDIL) or each interval's consumption.",
    )
    energy_register_max = models.DecimalField(
        "energy register maximum (kWh)",
        max_digits=18,
        decimal_places=3,
        default=Decimal(10**9),
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text="Where the meters' energy registers roll over to zero.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "MDC"
        verbose_name_plural = "MDCs"

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("registry:mdc-detail", args=[self.pk])

    @property
    def base_url_shown(self) -> str:
        """The base URL as shown: without a ``user:password@`` stored before that was refused."""
        return validation.url_without_userinfo(self.base_url)

    def clean(self) -> None:
        errors: dict[str, list] = {}
        checks = [
            lambda: validation.path_overrides(self.path_overrides),
            lambda: validation.tabular_views(self.tabular_views),
            lambda: validation.tabular_database_url(self.tabular_database_url),
            lambda: validation.mdc_base_url(self.base_url),
            lambda: validation.minutes_by_dataset(self.window_minutes, field="window_minutes"),
            lambda: validation.minutes_by_dataset(self.pull_intervals, field="pull_intervals"),
            lambda: validation.transport_settings(self),
        ]
        for check in checks:
            try:
                check()
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    errors.setdefault(field, []).extend(messages)
        from apps.udil.profiles import PROFILES

        if self.udil_profile and self.udil_profile not in PROFILES:
            errors.setdefault("udil_profile", []).append(
                f"UDIL profile {self.udil_profile} is not implemented yet "
                f"(available: {', '.join(sorted(PROFILES))})."
            )
        if errors:
            raise ValidationError(errors)


# --- meters ------------------------------------------------------------------------------------


class MeterQuerySet(models.QuerySet):
    def active(self) -> MeterQuerySet:
        return self.filter(activation_status=ActivationStatus.ACTIVE)

    def for_mdc(self, mdc: Mdc | int | str) -> MeterQuerySet:
        if isinstance(mdc, Mdc):
            return self.filter(mdc=mdc)
        if isinstance(mdc, int):
            return self.filter(mdc_id=mdc)
        return self.filter(mdc__code=mdc)

    def in_hierarchy(
        self,
        *,
        disco=None,
        circle=None,
        division=None,
        subdivision=None,
        feeder=None,
        transformer=None,
    ) -> MeterQuerySet:
        """Meters under the given nodes (instances or primary keys); None means any."""
        lookups = {
            "transformer__feeder__subdivision__division__circle__disco": disco,
            "transformer__feeder__subdivision__division__circle": circle,
            "transformer__feeder__subdivision__division": division,
            "transformer__feeder__subdivision": subdivision,
            "transformer__feeder": feeder,
            "transformer": transformer,
        }
        filters = {path: node for path, node in lookups.items() if node is not None}
        return self.filter(**filters)

    def with_hierarchy(self) -> MeterQuerySet:
        return self.select_related(
            "mdc",
            "consumer",
            "transformer__feeder__subdivision__division__circle__disco",
        )


class Meter(models.Model):
    """A meter, DCU or other device registered with one MDC."""

    global_device_id = models.CharField(max_length=50, unique=True)
    msn = models.BigIntegerField("meter serial number", unique=True)
    mdc = models.ForeignKey(Mdc, on_delete=models.PROTECT, related_name="meters")
    device_type = models.PositiveSmallIntegerField(
        choices=DeviceType.choices, default=DeviceType.METER
    )
    phase = models.PositiveSmallIntegerField(choices=Phase.choices, default=Phase.SINGLE)
    meter_type = models.PositiveSmallIntegerField(
        choices=MeterType.choices, default=MeterType.NORMAL
    )
    communication_mode = models.PositiveSmallIntegerField(
        choices=CommunicationMode.choices, default=CommunicationMode.CELLULAR
    )
    communication_type = models.PositiveSmallIntegerField(
        choices=CommunicationType.choices, default=CommunicationType.ALWAYS_ON
    )
    communication_interval = models.PositiveIntegerField(
        null=True, blank=True, help_text="Minutes, when communication is periodic."
    )
    sim_number = models.CharField(max_length=50, blank=True)
    sim_id = models.CharField(max_length=50, blank=True)
    mdi_reset_date = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    mdi_reset_time = models.TimeField(default=midnight)
    activation_status = models.PositiveSmallIntegerField(
        choices=ActivationStatus.choices, default=ActivationStatus.ACTIVE, db_index=True
    )
    transformer = models.ForeignKey(
        Transformer, null=True, blank=True, on_delete=models.SET_NULL, related_name="meters"
    )
    consumer = models.ForeignKey(
        Consumer, null=True, blank=True, on_delete=models.SET_NULL, related_name="meters"
    )
    profile_hint = models.CharField(
        max_length=20, choices=ProfileHint.choices, default=ProfileHint.DOMESTIC
    )
    # State kept by the commands app; each change comes from a transaction.
    relay_state = models.CharField(
        max_length=20, choices=RelayState.choices, default=RelayState.UNKNOWN
    )
    load_limit_kw = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    device_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"setting": {"value": ..., "transactionid": "...", "at": "iso datetime"}}',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MeterQuerySet.as_manager()

    class Meta:
        ordering = ["global_device_id"]
        indexes = [models.Index(fields=["mdc", "activation_status"])]

    def __str__(self) -> str:
        return f"{self.global_device_id} (msn {self.msn})"

    def get_absolute_url(self) -> str:
        return reverse("registry:meter-detail", args=[self.pk])

    def clean(self) -> None:
        problem = validation.msn_problem(self.msn)  # the CSV import applies the same rule
        if problem:
            raise ValidationError({"msn": problem})
