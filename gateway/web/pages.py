"""Render a page: Jinja2 templates with the signed-in principal and its CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def static_url(name: str) -> str:
    """The URL of a packaged static asset."""
    return f"/static/{name}"


templates.env.globals["static_url"] = static_url


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page from `gateway/web/templates/`, given `principal` and `csrf_token` besides
    `context`; never cached."""
    full = {
        "principal": getattr(request.state, "staff_principal", None),
        "csrf_token": getattr(request.state, "csrf_token", None),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
