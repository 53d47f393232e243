"""Forms of the billing pages."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from apps.billing.models import BillingAccount, ReadingCycle
from apps.core.filters import LocalDateTimeField


class RunStartForm(forms.Form):
    cycle = forms.ModelChoiceField(queryset=ReadingCycle.objects.all())


class ReadingCycleForm(forms.ModelForm):
    cutoff = LocalDateTimeField(help_text="Pakistan time, e.g. 2026-11-05 10:00")

    class Meta:
        model = ReadingCycle
        fields = ["batch", "reading_date", "cutoff", "source"]
        widgets = {"reading_date": forms.DateInput(attrs={"type": "date"})}


class BillingAccountForm(forms.ModelForm):
    multiplying_factor = forms.DecimalField(
        max_digits=10,
        decimal_places=3,
        min_value=Decimal("0.001"),
        initial=Decimal(1),
        help_text="CT/PT ratio of the consumer's meters.",
    )

    class Meta:
        model = BillingAccount
        fields = ["consumer", "tariff", "sanctioned_load_kw", "reading_batch", "status"]


class MirrorImportForm(forms.Form):
    file = forms.FileField(help_text="CSV: reference_no, month, billed_units, bill_amount, ...")
