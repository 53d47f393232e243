"""Console forms. The command's parameter form is generated from the protocol package's Param
definitions, for the profiles of the MDCs it goes to; its validation messages are the
protocol package's own. 3.3's time-of-use profiles get a row editor (apps.commands.widgets)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.commands.choices import SENDABLE_COMMANDS
from apps.commands.services import command_params, params_validate
from apps.commands.widgets import COLUMNS as ROW_COLUMNS
from apps.commands.widgets import TouProfileField
from apps.udil.profiles import get_profile


class SelectionForm(forms.Form):
    """Step 1: which meters (the registry's list filters, or pasted ids) and which command."""

    command = forms.ChoiceField(
        choices=[("", "— choose a command —")] + [(c.value, c.label) for c in SENDABLE_COMMANDS]
    )
    pasted = forms.CharField(
        label="Or paste device ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "m00000001\nm00000002 ..."}),
        help_text="Global device ids or meter serial numbers, one per line or comma-separated. "
        "When given, the filters are ignored.",
    )
    selection = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, profiles: list[str] | None = None, **kwargs):
        """``profiles``: the UDIL profiles of the meters chosen so far; the command list is
        then the commands every one of them offers (a 2019 MDC has no update_major_alarms)."""
        super().__init__(*args, **kwargs)
        if profiles:
            offered = [get_profile(name) for name in profiles]
            self.fields["command"].choices = [("", "— choose a command —")] + [
                (c.value, c.label)
                for c in SENDABLE_COMMANDS
                if all(profile.has(c.value) for profile in offered)
            ]


def _field_for(param) -> forms.Field:
    label = f"{param.name}{' *' if param.required else ''}"
    common = {"label": label, "required": False, "help_text": param.description}
    if param.kind == "tou":
        return TouProfileField(kind=param.item_kind, **common)
    if param.is_array and param.name in ROW_COLUMNS:  # rows, not JSON typed by hand
        return TouProfileField(kind=param.name, **common)
    if param.choices:
        choices = [("", "—")] + [(str(v), f"{v} · {text}") for v, text in param.choices]
        return forms.ChoiceField(choices=choices, **common)
    if param.kind == "datetime":
        widget = forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        )
        return forms.CharField(widget=widget, **common)
    if param.kind in ("time", "hhmm"):
        step = "60" if param.kind == "hhmm" else "1"
        return forms.CharField(
            widget=forms.TimeInput(attrs={"type": "time", "step": step}), **common
        )
    if param.is_array:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    return forms.CharField(**common)


class CommandParamsForm(forms.Form):
    """Step 2: the command's parameters, and an optional time to send."""

    scheduled_at = forms.DateTimeField(
        label="Send at (optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        help_text="Pakistan Standard Time. Empty: send now.",
    )

    def __init__(self, *args, command: str, profiles: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.command = command
        #: The UDIL profiles of the selected meters' MDCs: the form has the parameters of
        #: each (3.3's time of use is day/week/season/holiday profiles, 2019's slabs).
        self.profiles = profiles or None
        self.param_names = []
        for param in command_params(command, self.profiles):
            self.fields[param.name] = _field_for(param)
            self.param_names.append(param.name)
        self.order_fields([*self.param_names, "scheduled_at"])
        self.wire_params: dict[str, str] = {}

    def raw_params(self) -> dict[str, str]:
        data = self.cleaned_data
        return {n: data[n] for n in self.param_names if data.get(n) not in (None, "")}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.wire_params = params_validate(self.command, self.raw_params(), self.profiles)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                target = name if name in self.fields else None
                for message in messages:
                    self.add_error(target, f"{name}: {message}" if target is None else message)
        return cleaned


class DecisionForm(forms.Form):
    note = forms.CharField(required=False, max_length=500)


class CancelForm(forms.Form):
    devices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Device ids to cancel; empty cancels every device that still can be.",
    )
