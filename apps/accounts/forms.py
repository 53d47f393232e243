from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for (the program).")
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        help_text="Pakistan time, e.g. 2027-06-30 00:00. Empty: never.",
    )
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        help_text="Whose token (default: yours).",
    )

    def __init__(self, *args, can_manage_all: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_manage_all:
            del self.fields["user"]
        days = settings.API_TOKEN_DEFAULT_DAYS
        if days:
            later = timezone.localtime() + datetime.timedelta(days=days)
            self.fields["expires_at"].initial = later.strftime("%Y-%m-%d 00:00")
