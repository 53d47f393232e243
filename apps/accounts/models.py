"""API tokens for programs (as NetBox keeps them): per user, shown once, stored hashed.

A token is ``<8-character key prefix><32 more characters>`` of random text. Only its SHA-256
is stored; the prefix is kept in clear so a presented token is found with one indexed lookup
and so people can tell their tokens apart in lists. Expiry, last use and revocation are
recorded; revoked and expired tokens authenticate nobody.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.accounts.choices import ExportState, TokenState

KEY_PREFIX_LENGTH = 8


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for (the program).")
    key_prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        permissions = [("manage_all_apitoken", "Can manage every user's API tokens")]

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.name})"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return TokenState.EXPIRED
        return TokenState.ACTIVE


class ExportJob(models.Model):
    """A CSV export too large to stream while the user waits: written to a file by a worker,
    with its progress, then downloaded by the user who asked for it (and nobody else)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    title = models.CharField(max_length=100)
    path = models.CharField(max_length=200, help_text="The list page exported.")
    query = models.TextField(blank=True, help_text="Its filters, as a query string.")
    state = models.CharField(max_length=10, choices=ExportState.choices, default="queued")
    rows_expected = models.PositiveBigIntegerField(default=0)
    rows_written = models.PositiveBigIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title} export #{self.pk}"

    @property
    def percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.rows_expected:
            return 0
        return min(99, self.rows_written * 100 // self.rows_expected)


class TablePreference(models.Model):
    """A user's choice of columns and page size for one list table (the column chooser).
    ``table`` is the table class's dotted name; an empty ``columns`` means its defaults."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="table_preferences"
    )
    table = models.CharField(max_length=150)
    columns = models.JSONField(default=list, blank=True)
    per_page = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "table"], name="table_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.table}"


class SavedFilter(models.Model):
    """A list page's filter query string kept under a name by its user; at most one of a
    user's filters of a page is its default, which the page opens with."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    path = models.CharField(max_length=200, help_text="The list page's path.")
    name = models.CharField(max_length=100)
    query = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="The page opens with it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "path", "name"], name="saved_filter_once"),
            models.UniqueConstraint(
                fields=["user", "path"],
                condition=models.Q(is_default=True),
                name="saved_filter_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name
