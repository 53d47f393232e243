"""Forms check types and shapes; the services decide. Secrets are never sent back to the
browser: their inputs show a mask, and leaving one blank keeps the stored value."""

from __future__ import annotations

from django import forms

from apps.core.widgets import KeyValueRowsField
from apps.registry import validation
from apps.registry.choices import DATASET_TABLE_IDS, Dataset
from apps.registry.field_lists import (
    CONSUMER_REGISTRATION,
    MDC_FIELDS,
    METER_REGISTRATION,
    SECRET_FIELDS,
)
from apps.registry.models import Consumer, Mdc, Meter, Transformer

MASK = "•••• (set)"


def table_choices() -> list[tuple[str, str]]:
    """UDIL table ids with their data sets' names (the keys of ``Mdc.tabular_views``)."""
    labels = dict(Dataset.choices)
    return [(table, f"{table} ({labels[code]})") for code, table in DATASET_TABLE_IDS.items()]


class BootstrapMixin:
    """Bootstrap classes on every widget, and ``is-invalid`` on fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if "form-" in widget.attrs.get("class", ""):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid"


def _minutes_by_dataset(label: str, value_label: str, help_text: str) -> KeyValueRowsField:
    """Rows of data set and whole minutes (``Mdc.window_minutes``, ``Mdc.pull_intervals``)."""
    return KeyValueRowsField(
        label=label,
        key_choices=Dataset.choices,
        value_type=int,
        min_value=1,
        key_label="Data set",
        value_label=value_label,
        help_text=help_text,
    )


class MdcForm(BootstrapMixin, forms.ModelForm):
    base_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    auth_code = forms.CharField(
        label="Authorization code",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The UDIL 'code' sent with the username and password.",
    )
    tabular_database_url = forms.CharField(
        label="Tabular database URL",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="postgresql://user:password@host:5432/db (tabular transport only).",
    )

    path_overrides = KeyValueRowsField(
        label="Path overrides",
        key_label="UDIL service",
        value_label="Path",
        help_text="Where this MDC serves a UDIL service, if not at its standard name "
        "(e.g. service events at v2/events).",
    )
    window_minutes = _minutes_by_dataset(
        "Window per request", "Minutes", "How much of a data set's history one request asks for."
    )
    tabular_views = KeyValueRowsField(
        label="Tabular views",
        key_choices=table_choices,
        key_label="UDIL table",
        value_label="View name",
        help_text="The MDC database's view of each UDIL table (tabular transport only).",
    )
    pull_intervals = _minutes_by_dataset(
        "Pull intervals", "Every (minutes)", "How often each data set is pulled."
    )

    class Meta:
        model = Mdc
        fields = list(MDC_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            self.initial[name] = ""  # a stored secret never goes back to the browser
            stored = getattr(self.instance, name, "") if self.instance.pk else ""
            widget = self.fields[name].widget
            widget.attrs["placeholder"] = MASK if stored else "(not set)"
            widget.attrs["autocomplete"] = "new-password"
            if stored:
                self.fields[name].help_text = (
                    f"{self.fields[name].help_text} Leave blank to keep the stored value."
                ).strip()

    def _post_clean(self):
        # The model is validated by the service (full_clean), with secrets kept when blank.
        pass

    def changes(self) -> dict:
        """Cleaned values for the service; blank secrets mean "keep" (None)."""
        data = dict(self.cleaned_data)
        for name in SECRET_FIELDS:
            if not data.get(name):
                data[name] = None if self.instance.pk else ""
        for name in ("path_overrides", "tabular_views"):
            if data.get(name) is None:
                data[name] = {}
        for name in ("window_minutes", "pull_intervals"):
            if data.get(name) is None:
                data[name] = Mdc._meta.get_field(name).get_default()
        return data


class MeterForm(BootstrapMixin, forms.ModelForm):
    global_device_id = forms.CharField(
        required=False,
        max_length=50,
        help_text="Leave blank and the MDM assigns the next id.",
    )
    mdi_reset_date = forms.IntegerField(min_value=1, max_value=28, initial=1)
    send_device_creation = forms.BooleanField(
        required=False,
        initial=True,
        label="Create it at its MDC now",
        help_text="Send UDIL device_creation to the MDC (a tracked command; the meter page "
        "shows when the MDC confirms it).",
    )

    class Meta:
        model = Meter
        fields = list(METER_REGISTRATION)
        widgets = {"mdi_reset_time": forms.TimeInput(attrs={"type": "time", "step": 1})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["transformer"].queryset = Transformer.objects.select_related("feeder")
        if self.instance.pk:
            self.fields["global_device_id"].disabled = True
            self.fields["global_device_id"].help_text = "Assigned by the MDM; never changes."
            del self.fields["send_device_creation"]  # offered on registration

    def _post_clean(self):
        pass


class ConsumerForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Consumer
        fields = list(CONSUMER_REGISTRATION)

    def _post_clean(self):
        pass


class MeterImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(help_text="CSV with a header row; 'msn' is required.")
    mdc = forms.ModelChoiceField(
        queryset=Mdc.objects.all(),
        required=False,
        label="MDC",
        help_text="For rows without an 'mdc' column value.",
    )
    all_or_nothing = forms.BooleanField(
        required=False, initial=True, help_text="Import nothing if any row is bad."
    )
    send_device_creation = forms.BooleanField(
        required=False,
        initial=False,
        label="Create them at their MDCs",
        help_text="Send UDIL device_creation for the imported meters (tracked commands).",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        validation.import_file_size(upload)  # the API's limit too
        return upload


class NodeForm(BootstrapMixin, forms.Form):
    """Create a hierarchy node; the parent field is set up per level by the view."""

    code = forms.CharField(max_length=50)
    name = forms.CharField(max_length=200)

    def __init__(self, *args, parent_model=None, parent_label="", with_capacity=False, **kw):
        super().__init__(*args, **kw)
        if parent_model is not None:
            self.fields["parent"] = forms.ModelChoiceField(
                queryset=parent_model.objects.all(), label=parent_label
            )
            self.order_fields(["parent", "code", "name"])
        if with_capacity:
            self.fields["capacity_kva"] = forms.DecimalField(
                required=False, max_digits=10, decimal_places=3, min_value=0, label="Capacity kVA"
            )
        self.style_widgets()
