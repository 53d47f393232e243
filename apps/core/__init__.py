"""Shared web building blocks: list pages, badges, choices with colours."""
