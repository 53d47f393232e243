"""The period and node pickers of the analytics pages and API (bad input: a message, not 500)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings

from apps.analytics.choices import NodeLevel, ReportKind
from apps.registry.models import Feeder, Transformer
from apps.warehouse.partitions import today_pkt

#: the longest period a page or API call may ask for (roll-ups are per day: a year is cheap)
MAX_DAYS = 366


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ChoiceField(choices=NodeLevel.choices, required=False)
    # the upper bound is PostgreSQL's integer: a larger id is a message, not a DataError
    node = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
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


def _node_named(model, text: str):
    """The node a ``feeder=`` / ``transformer=`` parameter names: its code (case-insensitive),
    or else its id (as the registry lists take them). Codes are unique only under the parent,
    so a code several nodes share is refused rather than one of them picked."""
    text = text.strip()
    found = list(model.objects.filter(code__iexact=text)[:2])
    label = model._meta.verbose_name
    if len(found) > 1:
        raise forms.ValidationError(
            "Several %(label)ss have the code %(code)s: give its id (node=).",
            params={"label": label, "code": text[:60]},
        )
    if not found and text.isdigit() and len(text) < 10:
        found = list(model.objects.filter(pk=int(text)))
    if not found:
        raise forms.ValidationError(
            "No %(label)s has the code or id %(code)s.", params={"label": label, "code": text[:60]}
        )
    return found[0]


class BalanceForm(PeriodForm):
    """The energy balance's period, and the one node it may be narrowed to: ``level`` and
    ``node`` (its id), or ``feeder=`` / ``transformer=`` its code or id."""

    feeder = forms.CharField(required=False, max_length=60, help_text="code or id")
    transformer = forms.CharField(required=False, max_length=60, help_text="code or id")

    def __init__(self, data=None, **kwargs):
        kwargs.setdefault("levels", ("feeder", "transformer"))
        super().__init__(data, **kwargs)
        for unused in ("hours", "top", "tariff"):
            del self.fields[unused]
        self.fields["node"].label = "Node id"

    def clean_feeder(self):
        text = self.cleaned_data.get("feeder")
        return _node_named(Feeder, text) if text else None

    def clean_transformer(self):
        text = self.cleaned_data.get("transformer")
        return _node_named(Transformer, text) if text else None

    def clean(self):
        data = super().clean()
        named = [(level, data[level]) for level in ("feeder", "transformer") if data.get(level)]
        if len(named) > 1:
            raise forms.ValidationError("Give a feeder or a transformer, not both.")
        node_id, level = data.get("node"), data.get("level")
        if named:
            # the node named sets the level (the page's level select may still say feeder)
            [(named_level, node)] = named
            if node_id and node_id != node.pk:
                raise forms.ValidationError(
                    f"node {node_id} is not {named_level} {node.code} (id {node.pk}): give one."
                )
            data["level"], data["node_obj"] = named_level, node
        elif node_id:
            model = Feeder if level == "feeder" else Transformer
            node = model.objects.filter(pk=node_id).first()
            if node is None:
                self.add_error("node", f"No {level} has the id {node_id}.")
            data["node_obj"] = node
        else:
            data["node_obj"] = None
        if data.get("node_obj") is not None:
            data["node"] = data["node_obj"].pk
        return data


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
