"""State of the simulated MDCs: everything lives in the database so it survives a restart.

Data (load profile, registers, events ...) is *not* stored: it is computed on the fly from
(seed, meter, time) by :mod:`apps.simulator.generator`. What is stored is what a command can
change: each meter keeps an effective-dated ``history`` of its settings
(``[epoch_seconds, key, value]``), so data before a change stays as it was and data after it
shows the change.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from apps.core.choices import BadgeChoices, badge_colours
from apps.core.defaults import midnight

CODE_VALIDATOR = RegexValidator(r"^[a-z0-9_]+$", "Lower-case letters, digits and '_' only.")
RATE = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class Format(models.TextChoices):
    JSON = "json", "JSON"
    XML = "xml", "XML"


class Transport(models.TextChoices):
    API = "api", "Web services (API)"
    TABULAR = "tabular", "Database tables (tabular)"
    FILE = "file", "Flat files (CSV deliveries)"


class UdilProfile(models.TextChoices):
    """The UDIL revision this simulated MDC speaks (a profile in apps.udil)."""

    UDIL_2019 = "2019", "UDIL 2019"
    UDIL_3_3 = "3.3", "UDIL 3.3 (2025)"


class CredentialsIn(models.TextChoices):
    HEADERS = "headers", "HTTP headers only"
    FORM = "form", "Form fields only"
    BOTH = "both", "Headers or form fields"


class NumberStyle(models.TextChoices):
    STRING = "string", "Strings (as the spec says)"
    NUMBER = "number", "JSON numbers (vendor quirk)"
    MIXED = "mixed", "Mixed (vendor quirk)"


class LpEnergyMode(models.TextChoices):
    """What the energy fields of LOAD_PROFILE_DATA hold (NOTES.md "What the values mean")."""

    REGISTER = "register", "Cumulative registers (as the spec means)"
    INTERVAL = "interval", "Per-interval consumption (vendor variant)"


class Profile(models.TextChoices):
    DOMESTIC = "domestic", "Domestic"
    COMMERCIAL = "commercial", "Commercial"
    INDUSTRIAL = "industrial", "Industrial"
    AGRICULTURAL = "agricultural", "Agricultural tube-well"


@badge_colours(
    none="success", ct_bypass="danger", reverse_energy="danger", reverse_polarity="warning"
)
class Tamper(BadgeChoices):
    NONE = "none", "None"
    CT_BYPASS = "ct_bypass", "CT bypass (121)"
    REVERSE_ENERGY = "reverse_energy", "Reverse energy (117)"
    REVERSE_POLARITY = "reverse_polarity", "Reverse polarity (118)"


class SimMdc(models.Model):
    """A simulated vendor head end, served under ``/sim/<code>/``."""

    code = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200, blank=True)
    fmt = models.CharField("format", max_length=4, choices=Format.choices, default=Format.JSON)
    transport = models.CharField(max_length=8, choices=Transport.choices, default=Transport.API)
    username = models.CharField(max_length=100, default="mdm_user")
    password = models.CharField(max_length=100, default="mdm-Secret-1")
    auth_code = models.CharField(max_length=50, default="223")
    credentials_in = models.CharField(
        max_length=8, choices=CredentialsIn.choices, default=CredentialsIn.BOTH
    )
    key_lifetime_seconds = models.PositiveIntegerField(default=1800)
    seed = models.BigIntegerField(default=1)
    history_start = models.DateTimeField(help_text="Data of the initial fleet starts here.")
    # commands
    command_pace_seconds = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0.0)],
        help_text="Seconds per status level (0: commands execute at once).",
    )
    failure_rate = models.FloatField(
        default=0.05, validators=RATE, help_text="Share of devices a command fails on."
    )
    # communication realism
    offline_rate = models.FloatField(
        default=0.03, validators=RATE, help_text="Share of meter-days with an offline episode."
    )
    gap_rate = models.FloatField(
        default=0.001, validators=RATE, help_text="Share of load profile rows that never arrive."
    )
    lp_energy_mode = models.CharField(
        "load profile energy",
        max_length=8,
        choices=LpEnergyMode.choices,
        default=LpEnergyMode.REGISTER,
        help_text="Registers (default) or per-interval kWh in the load profile energy fields.",
    )
    udil_profile = models.CharField(
        "UDIL profile", max_length=10, choices=UdilProfile.choices, default=UdilProfile.UDIL_2019
    )
    anomaly_plan = models.JSONField(
        default=dict,
        blank=True,
        help_text="Known anomalies planted in this MDC's data (ground truth for the VEE and "
        "theft benches), e.g. {\"spike\": 0.001, \"clock_drift\": 0.002}.",
    )
    file_directory = models.CharField(
        "delivery directory",
        max_length=500,
        blank=True,
        help_text="Flat-file transport: where this MDC writes its CSV deliveries.",
    )
    # fault injection
    latency_ms = models.PositiveIntegerField(default=0)
    error_500_rate = models.FloatField(default=0.0, validators=RATE)
    malformed_rate = models.FloatField(default=0.0, validators=RATE)
    truncated_rate = models.FloatField(default=0.0, validators=RATE)
    number_style = models.CharField(
        max_length=8, choices=NumberStyle.choices, default=NumberStyle.STRING
    )
    quirk_id_whitespace = models.BooleanField(default=False)
    quirk_shuffle_fields = models.BooleanField(default=False)
    quirk_extra_fields = models.BooleanField(default=False)
    # tabular transport
    tabular_synced_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "simulated MDC"
        verbose_name_plural = "simulated MDCs"

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("simulator:mdc-edit", args=[self.code])

    @property
    def tabular_schema(self) -> str:
        return f"sim_{self.code}"

    @property
    def has_quirks(self) -> bool:
        return (
            self.number_style != NumberStyle.STRING
            or self.quirk_id_whitespace
            or self.quirk_shuffle_fields
            or self.quirk_extra_fields
        )


class SimPrivateKey(models.Model):
    mdc = models.ForeignKey(SimMdc, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.mdc.code} key until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class SimMeter(models.Model):
    """A simulated meter. Settings that commands change are effective-dated in ``history``."""

    mdc = models.ForeignKey(SimMdc, on_delete=models.CASCADE, related_name="meters")
    global_device_id = models.CharField(max_length=50)
    msn = models.BigIntegerField()
    profile = models.CharField(max_length=16, choices=Profile.choices)
    device_type = models.PositiveSmallIntegerField(default=1)
    phase = models.PositiveSmallIntegerField(default=1)
    meter_type = models.PositiveSmallIntegerField(default=1)
    has_relay = models.BooleanField(default=True)
    communication_mode = models.PositiveSmallIntegerField(default=1)
    communication_type = models.PositiveSmallIntegerField(default=0)
    communication_interval = models.PositiveIntegerField(null=True, blank=True)
    sim_number = models.CharField(max_length=20, blank=True)
    sim_id = models.CharField(max_length=50, blank=True)
    mdi_reset_date = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    mdi_reset_time = models.TimeField(default=midnight)
    seed = models.BigIntegerField()
    base_load_w = models.PositiveIntegerField(help_text="Average demand in W.")
    power_factor = models.DecimalField(max_digits=4, decimal_places=3)
    initial_kwh = models.DecimalField(max_digits=15, decimal_places=3)
    data_start = models.DateTimeField(help_text="The meter records data from here on.")
    tamper = models.CharField(max_length=20, choices=Tamper.choices, default=Tamper.NONE)
    tamper_start = models.DateTimeField(null=True, blank=True)
    # current state (also in history; kept here for lists and admin)
    activation_status = models.PositiveSmallIntegerField(default=1)
    relay_state = models.PositiveSmallIntegerField(default=1, help_text="1 connected, 0 off.")
    load_limit = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    lp_interval = models.PositiveSmallIntegerField(default=15)
    primary_ip = models.CharField(max_length=45, blank=True)
    secondary_ip = models.CharField(max_length=45, blank=True)
    primary_port = models.PositiveIntegerField(null=True, blank=True)
    secondary_port = models.PositiveIntegerField(null=True, blank=True)
    wakeup_numbers = models.JSONField(default=list, blank=True)
    optical_port_on = models.DateTimeField(null=True, blank=True)
    optical_port_off = models.DateTimeField(null=True, blank=True)
    settings = models.JSONField(
        default=dict, blank=True, help_text="Other settings sent by commands (load control ...)."
    )
    history = models.JSONField(default=list, blank=True)
    last_command = models.CharField(max_length=50, blank=True)
    last_command_datetime = models.DateTimeField(null=True, blank=True)
    last_command_resp = models.CharField(max_length=50, blank=True)
    last_command_resp_datetime = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["mdc", "global_device_id"]
        constraints = [
            models.UniqueConstraint(fields=["mdc", "global_device_id"], name="sim_meter_gdi"),
            models.UniqueConstraint(fields=["mdc", "msn"], name="sim_meter_msn"),
        ]

    def __str__(self) -> str:
        return f"{self.global_device_id} ({self.msn})"


class SimCommand(models.Model):
    """One request with a transactionid (write, on-demand): resending it never acts twice."""

    mdc = models.ForeignKey(SimMdc, on_delete=models.CASCADE, related_name="commands")
    transactionid = models.CharField(max_length=64)
    service = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    response = models.JSONField(default=dict, help_text="The response sent, resent as is.")

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["mdc", "transactionid"], name="sim_command_tid")
        ]

    def __str__(self) -> str:
        return f"{self.transactionid} {self.service}"


class SimTransaction(models.Model):
    """One row of TRANSACTION_STATUS: a (transactionid, device) pair moving through 0..5."""

    command = models.ForeignKey(SimCommand, on_delete=models.CASCADE, related_name="rows")
    mdc = models.ForeignKey(SimMdc, on_delete=models.CASCADE, related_name="transactions")
    meter = models.ForeignKey(SimMeter, null=True, blank=True, on_delete=models.SET_NULL)
    transactionid = models.CharField(max_length=64)
    global_device_id = models.CharField(max_length=50)
    msn = models.CharField(max_length=20, blank=True)
    type = models.CharField(max_length=50)
    type_parameters = models.TextField(blank=True)
    command_receiving_datetime = models.DateTimeField()
    status_level = models.PositiveSmallIntegerField(default=0)
    status_1_datetime = models.DateTimeField(null=True, blank=True)
    status_2_datetime = models.DateTimeField(null=True, blank=True)
    status_3_datetime = models.DateTimeField(null=True, blank=True)
    status_4_datetime = models.DateTimeField(null=True, blank=True)
    status_5_datetime = models.DateTimeField(null=True, blank=True)
    indv_status = models.PositiveSmallIntegerField(default=1)
    request_cancelled = models.PositiveSmallIntegerField(default=0)
    request_cancel_reason = models.CharField(max_length=200, blank=True)
    request_cancel_datetime = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=200, blank=True)
    fail_level = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The level this device stops at, failing."
    )
    done = models.BooleanField(default=False, help_text="Final: executed, failed or cancelled.")
    effects_applied = models.BooleanField(default=False)
    response_data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["command_receiving_datetime", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mdc", "transactionid", "global_device_id"], name="sim_transaction_key"
            )
        ]
        indexes = [models.Index(fields=["mdc", "done"], name="sim_tx_pending")]

    def __str__(self) -> str:
        return f"{self.transactionid}/{self.global_device_id} level {self.status_level}"
