"""Form widgets for values the API keeps as JSON objects: rows you add and remove, never JSON
typed by hand.

``KeyValueRowsField`` edits ``{key: value}`` as rows of a key (a select when the keys are
known, else text) and a value (number, time or text input). The browser posts each row as
``<name>-key`` / ``<name>-value`` pairs (``static/js/key-value-rows.js`` adds and removes rows);
a client that posts the field's name with a JSON object (scripts, older forms) is understood
too. Mistakes are reported next to the field, naming the row."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django import forms
from django.core.exceptions import ValidationError

ROWS_SCRIPT = "js/key-value-rows.js"


def _choices(value) -> list[tuple[str, str]]:
    value = value() if callable(value) else value
    return [(str(key), str(label)) for key, label in value or ()]


class KeyValueRowsWidget(forms.Widget):
    template_name = "core/widgets/key_value_rows.html"

    class Media:
        js = (ROWS_SCRIPT,)

    def __init__(
        self,
        *,
        key_choices: Iterable | Callable | None = None,
        value_input: str = "text",
        value_attrs: dict | None = None,
        key_label: str = "Key",
        value_label: str = "Value",
        attrs: dict | None = None,
    ):
        super().__init__(attrs)
        self.key_choices = key_choices
        self.value_input = value_input
        self.value_attrs = value_attrs or {}
        self.key_label = key_label
        self.value_label = value_label

    def format_value(self, value):
        """Rows ``[(key, value)]`` from a dict, or the rows themselves (a bound form's data)."""
        if value in (None, ""):
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return []
        if isinstance(value, dict):
            return [
                ("" if k is None else str(k), "" if v is None else str(v)) for k, v in value.items()
            ]
        if isinstance(value, list):
            return [(str(k), str(v)) for k, v in value]
        return []

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["rows"] = self.format_value(value)
        widget["key_choices"] = _choices(self.key_choices) if self.key_choices else None
        widget["value_input"] = self.value_input
        widget["value_attrs"] = self.value_attrs
        widget["key_label"] = self.key_label
        widget["value_label"] = self.value_label
        return context

    def value_from_datadict(self, data, files, name):
        keys_name, values_name = f"{name}-key", f"{name}-value"
        if keys_name in data or values_name in data or f"{name}-rows" in data:
            keys, values = data.getlist(keys_name), data.getlist(values_name)
            width = max(len(keys), len(values))
            keys += [""] * (width - len(keys))
            values += [""] * (width - len(values))
            return [(k.strip(), v.strip()) for k, v in zip(keys, values, strict=True)]
        raw = data.get(name)
        if raw in (None, ""):
            return None
        return raw  # a JSON object posted as text; the field parses it

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}-rows" not in data and f"{name}-key" not in data


class KeyValueRowsField(forms.Field):
    """``{key: value}`` from rows. ``value_type`` is ``int`` (with ``min_value``), ``str`` or a
    callable converting the text (raising ValueError with a message). Blank rows are dropped; a
    key given twice, a key not among ``key_choices`` and a bad value are errors naming the row."""

    widget = KeyValueRowsWidget

    def __init__(
        self,
        *,
        key_choices=None,
        value_type=str,
        min_value: int | None = None,
        max_value: int | None = None,
        key_label: str = "Key",
        value_label: str = "Value",
        value_input: str | None = None,
        value_attrs: dict | None = None,
        **kwargs,
    ):
        self.key_choices = key_choices
        self.value_type = value_type
        self.min_value = min_value
        self.max_value = max_value
        attrs = dict(value_attrs or {})
        if value_type is int:
            attrs.setdefault("step", 1)
            if min_value is not None:
                attrs.setdefault("min", min_value)
            if max_value is not None:
                attrs.setdefault("max", max_value)
        kwargs.setdefault(
            "widget",
            KeyValueRowsWidget(
                key_choices=key_choices,
                value_input=value_input or ("number" if value_type is int else "text"),
                value_attrs=attrs,
                key_label=key_label,
                value_label=value_label,
            ),
        )
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def _convert(self, key: str, text) -> object:
        if self.value_type is int:
            if isinstance(text, bool):
                raise ValueError("must be a whole number")
            try:
                number = int(str(text).strip())
            except ValueError:
                raise ValueError("must be a whole number") from None
            if self.min_value is not None and number < self.min_value:
                raise ValueError(f"must be at least {self.min_value}")
            if self.max_value is not None and number > self.max_value:
                raise ValueError(f"must be at most {self.max_value}")
            return number
        if self.value_type is str:
            text = str(text).strip()
            if not text:
                raise ValueError("is empty")
            return text
        return self.value_type(text)

    def to_python(self, value):
        if value in (None, ""):
            return None  # not posted: the form decides (e.g. the model's default)
        if value == []:
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError("Enter the rows in the table.", code="invalid") from None
            if not isinstance(value, dict):
                raise ValidationError("Enter the rows in the table.", code="invalid")
            value = list(value.items())
        if isinstance(value, dict):
            value = list(value.items())
        allowed = {key for key, _ in _choices(self.key_choices)} if self.key_choices else None
        labels = dict(_choices(self.key_choices)) if self.key_choices else {}
        result, problems = {}, []
        for row, (key, text) in enumerate(value, start=1):
            key = "" if key is None else str(key).strip()
            if not key and text in ("", None):
                continue  # a blank row
            name = labels.get(key, key) or f"row {row}"
            if not key:
                problems.append(f"Row {row}: choose a {self.widget.key_label.lower()}.")
                continue
            if allowed is not None and key not in allowed:
                problems.append(f"{key}: not one of the choices.")
                continue
            if key in result:
                problems.append(f"{name}: given twice.")
                continue
            try:
                result[key] = self._convert(key, text)
            except ValueError as exc:
                problems.append(f"{name}: {self.widget.value_label.lower()} {exc}.")
        if problems:
            raise ValidationError(problems, code="invalid")
        return result

    def prepare_value(self, value):
        return value

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True
