"""Security headers on pages and static assets (a plain ASGI middleware)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# FastAPI's own API explorers load their assets from a CDN with inline script.
CSP_EXEMPT = ("/docs", "/redoc")


class SecurityHeaders:
    """nosniff and same-origin referrers everywhere; CSP, frame denial and no-store on HTML."""

    def __init__(self, app: ASGIApp, csp_exempt: tuple[str, ...] = CSP_EXEMPT) -> None:
        self.app = app
        self.csp_exempt = csp_exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exempt = str(scope.get("path", "")).startswith(self.csp_exempt)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(MutableHeaders(scope=message), exempt)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_headers(headers: MutableHeaders, exempt: bool) -> None:
    for name, value in ALWAYS.items():
        headers.setdefault(name, value)
    if not headers.get("content-type", "").startswith("text/html"):
        return
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cache-Control", "no-store")
    if not exempt:
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
