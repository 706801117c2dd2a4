"""The finance page (`/payments`): batches with totals, export links, run and confirm forms.

Server-rendered and usable without JavaScript; each form posts back with its CSRF token and,
on success, redirects (POST/redirect/GET) so a reload never starts a second run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.deps import EngineDep, SessionDep
from gateway.payments.service import (
    BANGKOK,
    PaymentError,
    confirm_batch,
    list_batches,
    run_payments,
)
from gateway.staff.deps import StaffPage
from gateway.web.pages import render

router = APIRouter(prefix="/payments", tags=["payments pages"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def payments_page(
    request: Request,
    principal: StaffPage,
    session: SessionDep,
    status: Annotated[str, Query(pattern="^(|open|confirmed)$")] = "",
    ran: Annotated[str, Query(max_length=200)] = "",
    confirmed: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """Every batch (newest first), with totals by category and what finance can do next."""
    return _page(request, session, status=status, notice=ran or confirmed)


def _page(
    request: Request,
    session: Any,
    *,
    status: str = "",
    notice: str = "",
    errors: dict[str, str] | None = None,
    period: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = list_batches(session, status or None)
    return render(
        request,
        "payments/index.html",
        {
            "batches": rows,
            "status": status,
            "notice": notice,
            "errors": errors or {},
            "period": period or datetime.now(BANGKOK).strftime("%Y-%m"),
            "open_total": sum(float(b["amount"]) for b in rows if b["status"] == "open"),
        },
        status_code=status_code,
    )


@router.post("/runs", response_model=None)
async def run_form(
    request: Request, principal: StaffPage, engine: EngineDep, session: SessionDep
) -> Response:
    """Close a month from the page; back to the list with what the run created."""
    form = await request.form()
    period = str(form.get("period", "")).strip()
    try:
        result = run_payments(engine, period=period, actor=f"staff:{principal.username}")
    except PaymentError as exc:
        errors = {"period": f"{exc} / ระบุเดือนในรูปแบบ ปปปป-ดด"}
        return _page(request, session, errors=errors, period=period[:20], status_code=400)
    count = len(result.batches)
    made = "no new batch" if not count else f"{count} new batch{'es' if count > 1 else ''}"
    notice = f"Run {result.run_id} for {period}: {made}"
    return RedirectResponse(f"/payments?{urlencode({'ran': notice})}", status_code=303)


@router.post("/batches/{batch_id}/confirm", response_model=None)
async def confirm_form(
    request: Request, batch_id: str, principal: StaffPage, engine: EngineDep, session: SessionDep
) -> Response:
    """Confirm a batch's bank transfer from the page."""
    form = await request.form()
    reference = str(form.get("reference", ""))
    try:
        result = confirm_batch(
            engine, batch_id=batch_id, reference=reference, actor=f"staff:{principal.username}"
        )
    except PaymentError as exc:
        field = f"reference-{batch_id}"
        errors = {field: f"{exc} / กรุณาระบุเลขอ้างอิงการโอนเงิน"}
        code = 404 if exc.kind == "not-found" else 400
        return _page(request, session, errors=errors, status_code=code)
    return RedirectResponse(
        f"/payments?{urlencode({'confirmed': result.message})}", status_code=303
    )
