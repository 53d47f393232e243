"""API authentication for programs: ``Authorization: Token <secret>`` (or ``Bearer``)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from apps.accounts.services import TokenRefused, api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None  # not ours: session or basic authentication may apply
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: send 'Authorization: Token <token>'."
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        try:
            token = api_token_authenticate(secret=secret)
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'
