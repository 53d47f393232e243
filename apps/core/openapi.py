"""OpenAPI post-processing: every operation documents the error answers the API gives.

DRF answers 400 (bad input), 401 (no or wrong credentials, with WWW-Authenticate), 403 (the role
lacks the permission), 404 (no such object) and 429 (rate limit or login lockout) with a JSON
body; drf-spectacular documents only the successful answer.
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "description": "``detail`` says what went wrong; a 400 may name fields instead.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERRORS = {
    "400": "The request is malformed or a value is refused; the body says why.",
    "401": "No credentials or wrong ones (see the WWW-Authenticate header).",
    "403": "Your role does not allow this.",
    "404": "No such object (or no such page of a list).",
    "429": "Too many requests, or the account is locked out after failed logins.",
}


def document_errors(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result

