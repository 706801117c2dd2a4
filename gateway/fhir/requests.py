"""Reading FHIR request bodies: one media-type check for every route that takes a resource."""

from __future__ import annotations

from fastapi import Request

from gateway.fhir.responses import http_problem

FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json")


async def fhir_body(request: Request, resource: str) -> bytes:
    """The request body, once its media type is acceptable (415 naming what came otherwise)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FHIR_MEDIA_TYPES:
        raise http_problem(
            415,
            "not-supported",
            f"Send the {resource} as application/fhir+json, not '{media_type or 'nothing'}'.",
            f"ต้องส่ง {resource} ในรูปแบบ application/fhir+json",
        )
    return await request.body()
