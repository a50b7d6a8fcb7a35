"""OpenAPI request-body snippets for routes that parse their own bodies (to give precise 4xx errors)."""

from __future__ import annotations

from typing import Any


def json_body(properties: dict[str, dict[str, Any]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """`openapi_extra` for a JSON object body with these string-typed properties."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def text_body(example: str) -> dict[str, Any]:
    """`openapi_extra` for a text/plain body."""
    return {
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string", "example": example}}},
        }
    }
