"""Exceptions raised by the UDIL protocol package.

Every error the package raises on bad input is a :class:`UdilError`, so a caller
that talks to an untrusted MDC (or serves an untrusted MDM) can catch one type.
"""

from __future__ import annotations

from typing import Any


class UdilError(Exception):
    """Base class of every UDIL error."""


class FieldError(UdilError, ValueError):
    """One field (a table column or a service parameter) has a bad value.

    ``str(e)`` reads ``"relay_operate: must be 0 or 1, got '7'"``.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

    def __reduce__(self):  # keep picklable (celery) despite the custom __init__
        return (self.__class__, (self.field, self.reason))


class ValidationErrors(FieldError):
    """Several fields are bad. ``errors`` maps field name to reason (in order).

    It is a :class:`FieldError` whose ``field``/``reason`` are the first error's.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        if not errors:
            raise ValueError("ValidationErrors needs at least one error")
        self.errors = dict(errors)
        first_field, first_reason = next(iter(self.errors.items()))
        super().__init__(first_field, first_reason)
        self.args = ("; ".join(f"{f}: {r}" for f, r in self.errors.items()),)

    def __str__(self) -> str:
        return self.args[0]

    def __reduce__(self):
        return (self.__class__, (self.errors,))


class MalformedBody(UdilError):
    """A body that is not a usable UDIL message: invalid JSON/XML, too large,
    an XML bomb or DTD, or the wrong shape (a list where an object is expected)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class UdilStatusError(UdilError):
    """The other side answered, but with ``status`` 0 (or an HTTP 4xx).

    ``http_status`` is the HTTP code (200 when the MDC said status 0 with 200),
    ``message`` the MDC's message, ``payload`` the decoded body if there was one.
    """

    def __init__(
        self, http_status: int, message: str = "", payload: dict[str, Any] | None = None
    ) -> None:
        self.http_status = http_status
        self.message = message
        self.payload = payload
        super().__init__(f"HTTP {http_status}: {message or 'status 0'}")

    def __reduce__(self):
        return (self.__class__, (self.http_status, self.message, self.payload))


class MdcUnavailable(UdilError):
    """The MDC could not be reached or failed on its side (timeout, connection
    refused, HTTP 5xx). Transient: the caller decides whether and when to retry."""

    def __init__(self, reason: str, http_status: int | None = None) -> None:
        self.reason = reason
        self.http_status = http_status
        super().__init__(reason)

    def __reduce__(self):
        return (self.__class__, (self.reason, self.http_status))
