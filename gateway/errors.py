"""Exception handlers: every failure leaves as a FHIR OperationOutcome with the right status."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from fhir_mappings.problems import Problem
from gateway.fhir.responses import ProblemError, outcome_response

log = structlog.get_logger("claimgw.errors")

DB_RETRY_AFTER = "5"


def _plain(status: int, code: str, en: str, th: str, expression: str = "") -> Problem:
    return Problem(
        rule=f"http-{status}", code=code, expression=expression, message_en=en, message_th=th
    )


async def _problem_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return outcome_response(exc.problems, exc.status, exc.headers)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not-found", 405: "not-supported", 401: "login", 403: "forbidden"}
    found = _plain(
        exc.status_code,
        codes.get(exc.status_code, "processing"),
        str(exc.detail),
        f"คำขอไม่สำเร็จ ({exc.status_code})",
    )
    return outcome_response([found], exc.status_code, dict(exc.headers or {}))


async def _request_invalid(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        _plain(
            400,
            "invalid",
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}",
            "พารามิเตอร์ของคำขอไม่ถูกต้อง",
        )
        for e in exc.errors()[:20]
    ]
    return outcome_response(problems, 400)


async def _database_down(_request: Request, exc: Exception) -> Response:
    log.error("database.unavailable", error=type(exc).__name__)
    found = _plain(
        503,
        "transient",
        "The claims database is unavailable; retry shortly.",
        "ฐานข้อมูลไม่พร้อมใช้งานชั่วคราว กรุณาลองใหม่",
    )
    return outcome_response([found], 503, {"Retry-After": DB_RETRY_AFTER})


async def _value_refused(_request: Request, exc: Exception) -> Response:
    """A value the database would not store (too long, out of range, NUL): the client's fault.

    The profile layer checks every column's bounds first (fhir_mappings/limits.py); this is the
    net under it, so a DataError is never mistaken for an outage (503).
    """
    log.warning("database.value_refused", error=type(exc).__name__)
    found = _plain(
        422,
        "value",
        "A value in the request does not fit the claims database.",
        "ข้อมูลในคำขอมีค่าที่ระบบจัดเก็บไม่ได้",
    )
    return outcome_response([found], 422)


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("request.failed", error=type(exc).__name__)
    found = _plain(
        500,
        "exception",
        "The gateway failed to process this request.",
        "ระบบขัดข้อง ไม่สามารถดำเนินการคำขอนี้ได้",
    )
    return outcome_response([found], 500)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error type to its OperationOutcome."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(DataError, _value_refused)
    app.add_exception_handler(DBAPIError, _database_down)
    app.add_exception_handler(Exception, _unexpected)
