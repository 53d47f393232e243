"""DRF exception handler: a request the parsers cannot read is the client's fault (400 with a
message), never a 500. Validation itself lives with the serializers and services; the helpers at
the end turn a service's refusal, and an id that cannot be one, into the API's 4xx."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework import exceptions, parsers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    request = context.get("request")
    if getattr(request, "axes_locked_out", False) and hasattr(request, "_request"):
        # django-axes marks the DRF request it was given (Basic auth); its middleware answers
        # from the Django request, so pass the mark on.
        request._request.axes_locked_out = True
        request._request.axes_credentials = getattr(request, "axes_credentials", None)
    if isinstance(exc, RecursionError):
        # json.loads on thousands of nested brackets; the parser wraps other errors itself
        exc = exceptions.ParseError("JSON nested too deeply.")
    elif isinstance(exc, DataError):
        # Input the database refuses to compare or store (a NUL character, a number or date out
        # of its range) is the client's error; validation should have caught it first.
        exc = exceptions.ValidationError(
            {
                "detail": "The request holds a value the database cannot take (a NUL character, "
                "or a number or date out of range)."
            }
        )
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing bodies nested too deeply for Python's decoder."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


def service_call(function, **kwargs):
    """Run a write service for an API view: its ValidationError becomes a 400 with the field
    messages, its PermissionDenied a 403 that keeps the service's reason (DRF's own handler
    would answer a bare "You do not have permission")."""
    try:
        return function(**kwargs)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise exceptions.ValidationError(detail) from exc
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc)) from exc


def object_id(pk, *, noun: str) -> int:
    """A URL's object id as an int, or a 404 with a message: ``"²".isdigit()`` is True and a
    23-digit number overflows bigint, so neither may reach ``int()`` or the database."""
    text = str(pk)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise exceptions.NotFound(f"No {noun} {text[:40]!r}: ids are whole numbers.")
    return int(text)
