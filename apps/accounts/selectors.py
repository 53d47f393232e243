"""Account reads."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import ApiToken


def tokens_visible_to(user) -> QuerySet[ApiToken]:
    """A user's own tokens; every token for those who manage all of them."""
    tokens = ApiToken.objects.select_related("user")
    if user.has_perm("accounts.manage_all_apitoken"):
        return tokens
    return tokens.filter(user=user)
