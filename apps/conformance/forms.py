"""The form that starts a run: which meters the suite may command, which write commands."""

from __future__ import annotations

from django import forms

from apps.conformance.catalogue import write_commands
from apps.conformance.services import MAX_METERS

METER_CHOICES_SHOWN = 200


class RunForm(forms.Form):
    device_ids = forms.MultipleChoiceField(
        label="Meters",
        help_text=f"1 to {MAX_METERS} meters of this MDC. Every write command is really sent "
        "to them.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    commands = forms.MultipleChoiceField(
        label="Write commands to send",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Commands left out are reported as not applicable.",
    )

    def __init__(self, *args, mdc, profile, **kwargs):
        super().__init__(*args, **kwargs)
        ids = list(
            mdc.meters.order_by("global_device_id").values_list("global_device_id", flat=True)[
                :METER_CHOICES_SHOWN
            ]
        )
        self.fields["device_ids"].choices = [(i, i) for i in ids]
        names = write_commands(profile)
        self.fields["commands"].choices = [(n, n) for n in names]
        self.fields["commands"].initial = names
