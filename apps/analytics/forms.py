"""The period and node pickers of the analytics pages and API (bad input: a message, not 500)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings

from apps.analytics.choices import NodeLevel, ReportKind
from apps.warehouse.partitions import today_pkt

#: the longest period a page or API call may ask for (roll-ups are per day: a year is cheap)
MAX_DAYS = 366


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ChoiceField(choices=NodeLevel.choices, required=False)
    node = forms.IntegerField(required=False, min_value=1)
    hours = forms.IntegerField(required=False, min_value=1, max_value=24 * 90)
    top = forms.IntegerField(required=False, min_value=1, max_value=10000)
    tariff = forms.CharField(required=False, max_length=20, help_text="load curve of one tariff")

    def __init__(self, data=None, *, levels=None, default_days: int = 7, **kwargs):
        super().__init__(data, **kwargs)
        self.default_days = default_days
        if levels:
            self.fields["level"].choices = [c for c in NodeLevel.choices if c[0] in levels]
        self.levels = levels

    def clean(self):
        data = super().clean()
        end = data.get("end") or today_pkt()
        start = data.get("start") or end - dt.timedelta(days=self.default_days - 1)
        if start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"A period is at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        data["level"] = data.get("level") or (self.levels[0] if self.levels else "feeder")
        data["hours"] = data.get("hours") or settings.ANALYTICS_SILENT_HOURS
        return data

    def error_text(self) -> str:
        return "; ".join(
            f"{'' if field == '__all__' else field + ': '}{' '.join(errors)}"
            for field, errors in self.errors.items()
        )


class ReportForm(forms.Form):
    """A report to run: kind, period and the level it is cut by (its default if blank)."""

    kind = forms.ChoiceField(choices=ReportKind.choices)
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ChoiceField(choices=[("", "default"), *NodeLevel.choices], required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"A report covers at most {MAX_DAYS} days.")
        return data
