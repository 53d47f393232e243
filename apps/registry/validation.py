"""Validation rules for MDC settings that live in JSON fields (shared by model, forms, API)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.registry.choices import DATASET_TABLE_IDS, Dataset

DATASET_CODES = frozenset(Dataset.values)
TABLE_IDS = frozenset(DATASET_TABLE_IDS.values())


def minutes_by_dataset(value, *, field: str) -> None:
    """``{dataset_code: positive whole minutes}``."""
    if not isinstance(value, dict):
        raise ValidationError({field: "Must be an object of {dataset_code: minutes}."})
    problems = []
    for key, minutes in value.items():
        if key not in DATASET_CODES:
            problems.append(f"unknown data set {key!r} (use {', '.join(sorted(DATASET_CODES))})")
        elif isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            problems.append(f"{key}: minutes must be a whole number of at least 1")
    if problems:
        raise ValidationError({field: problems})


def path_overrides(value) -> None:
    """``{service_name: path}`` with plain relative paths."""
    if not isinstance(value, dict):
        raise ValidationError({"path_overrides": "Must be an object of {service_name: path}."})
    problems = []
    for key, path in value.items():
        if not isinstance(key, str) or not key.strip():
            problems.append("service names must be non-empty text")
        elif not isinstance(path, str) or not path.strip() or "://" in path or ".." in path:
            problems.append(f"{key}: path must be a relative path such as 'v2/events'")
    if problems:
        raise ValidationError({"path_overrides": problems})


def tabular_views(value) -> None:
    """``{TABLE_ID: view name}``."""
    if not isinstance(value, dict):
        raise ValidationError({"tabular_views": "Must be an object of {TABLE_ID: view name}."})
    problems = []
    for key, view in value.items():
        if key not in TABLE_IDS:
            problems.append(f"unknown table {key!r} (use {', '.join(sorted(TABLE_IDS))})")
        elif not isinstance(view, str) or not view.strip():
            problems.append(f"{key}: view name must be non-empty text")
    if problems:
        raise ValidationError({"tabular_views": problems})


def tabular_database_url(value: str) -> None:
    """A tabular MDC's database URL names an engine this MDM reads, with its driver installed
    (``apps.udil.engines``); the URL itself is never echoed (it may hold a password)."""
    from apps.udil.engines import url_problem

    problem = url_problem(value) if value else None
    if problem:
        raise ValidationError({"tabular_database_url": problem})
