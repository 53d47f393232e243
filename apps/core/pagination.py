"""API paging that never loses or repeats a row.

Every paginated list orders by a unique key. Large tables page with a keyset cursor
(``KeysetPagination``): the cursor carries the key of the last row sent and the next page asks
for rows strictly after it, so rows sharing a time (every meter reads at :00 and :30) are neither
skipped nor sent twice, and no COUNT or OFFSET runs over partitioned tables of millions of rows.
Small tables page by number; ``StableOrderingFilter`` makes their order total.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import json
import operator
from collections import OrderedDict
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import BasePagination, _positive_int
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


def _pk_names(model) -> list[str]:
    return [field.name for field in getattr(model._meta, "pk_fields", [model._meta.pk])]


def ordered_uniquely(queryset: QuerySet) -> QuerySet:
    """The queryset with its ordering (explicit or the model's) ended by the primary key, so that
    rows with equal sort values always come in the same order (page boundaries stay put)."""
    query = queryset.query
    ordering = list(query.order_by) or (
        list(queryset.model._meta.ordering) if query.default_ordering else []
    )
    named = {str(item).lstrip("-") for item in ordering if isinstance(item, str)}
    pk_names = _pk_names(queryset.model)
    if "pk" in named or set(pk_names) <= named:
        return queryset
    missing = [name for name in pk_names if name not in named]
    return queryset.order_by(*ordering, *missing)


class StableOrderingFilter(OrderingFilter):
    """DRF's ``?ordering=`` with the primary key as the last tie-breaker."""

    def filter_queryset(self, request, queryset, view):
        return ordered_uniquely(super().filter_queryset(request, queryset, view))


def _encode_value(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class KeysetPagination(BasePagination):
    """Cursor paging on a unique key: ``ordering`` names the fields, most significant first,
    ``-`` for descending, and must end in fields that together identify a row."""

    ordering: tuple[str, ...] = ()
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def get_page_size(self, request) -> int:
        try:
            return _positive_int(
                request.query_params[self.page_size_query_param],
                strict=True,
                cutoff=self.max_page_size,
            )
        except (KeyError, ValueError):
            return self.page_size

    def _decode_cursor(self, request, model) -> tuple[bool, list | None]:
        text = request.query_params.get(self.cursor_query_param)
        if not text:
            return False, None
        try:
            data = json.loads(base64.urlsafe_b64decode(text.encode("ascii")))
            reverse, raw = bool(data["r"]), data["k"]
            if not isinstance(raw, list) or len(raw) != len(self.ordering):
                raise ValueError
            if any(isinstance(value, str) and "\x00" in value for value in raw):
                raise ValueError  # PostgreSQL text cannot hold NUL: refuse, do not fail later
            values = [
                model._meta.get_field(name.lstrip("-")).to_python(value)
                for name, value in zip(self.ordering, raw, strict=True)
            ]
        except (
            UnicodeError, binascii.Error, ValueError, KeyError, TypeError, DjangoValidationError,
        ) as exc:  # fmt: skip
            raise ValidationError({self.cursor_query_param: "Invalid cursor."}) from exc
        return reverse, values

    def _encode_cursor(self, row, reverse: bool) -> str:
        key = [_encode_value(getattr(row, name.lstrip("-"))) for name in self.ordering]
        text = json.dumps({"r": int(reverse), "k": key}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode("ascii")

    @staticmethod
    def _after(ordering, values) -> Q:
        """Rows strictly after ``values`` in ``ordering`` (a row-value comparison spelled out,
        since directions may differ per field)."""
        conditions = []
        equal: dict = {}
        for field, value in zip(ordering, values, strict=True):
            name = field.lstrip("-")
            lookup = "lt" if field.startswith("-") else "gt"
            conditions.append(Q(**equal, **{f"{name}__{lookup}": value}))
            equal[name] = value
        return functools.reduce(operator.or_, conditions)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.base_url = request.build_absolute_uri()
        size = self.get_page_size(request)
        reverse, values = self._decode_cursor(request, queryset.model)
        ordering = self.ordering
        if reverse:
            ordering = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in ordering)
        queryset = queryset.order_by(*ordering)
        if values is not None:
            queryset = queryset.filter(self._after(ordering, values))
        rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        has_next = (more and not reverse) or (reverse and values is not None)
        has_previous = (more and reverse) or (not reverse and values is not None)
        self.next_cursor = self._encode_cursor(rows[-1], False) if rows and has_next else None
        self.previous_cursor = self._encode_cursor(rows[0], True) if rows and has_previous else None
        return rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return self._link(self.next_cursor)

    def get_previous_link(self) -> str | None:
        if self.previous_cursor is None:
            return None
        return self._link(self.previous_cursor)

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The pagination cursor value (from next or previous).",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Number of results per page (at most {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
        ]


class PageNumberPagination(pagination.PageNumberPagination):
    """Numbered pages for the small tables, with ``page_size`` chosen by the client (bounded)."""

    page_size_query_param = "page_size"
    max_page_size = 1000
