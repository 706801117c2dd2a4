"""The reviewer's pages (`/review`): queue, claim, decision forms and the supervisor's view.

Server-rendered and usable without JavaScript; each form posts back here with its CSRF token
and, on success, redirects (POST/redirect/GET) so a reload never repeats a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from gateway.deps import SessionDep, SettingsDep, WriterSessionDep
from gateway.fhir.responses import ProblemError
from gateway.review import decisions
from gateway.review.charts import peer_strip, person_timeline
from gateway.review.decisions import ReviewContext
from gateway.review.endpoints import assignee_filter, context
from gateway.review.models import Decision
from gateway.review.repository import QueueFilter, ReviewRepository
from gateway.review.schemas import DecisionRequest, LineBenefit
from gateway.review.service import claim_detail, queue, review_stats
from gateway.settings import Settings
from gateway.staff.deps import StaffPage, StaffPrincipal
from gateway.web.pages import render

router = APIRouter(prefix="/review", tags=["review pages"], include_in_schema=False)

PAGE_SIZE = 25
T = TypeVar("T")
FormErrors = dict[str, dict[str, str]]


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    principal: StaffPage,
    session: SessionDep,
    settings: SettingsDep,
    hcode: Annotated[str, Query(max_length=9)] = "",
    reason: Annotated[str, Query(max_length=64)] = "",
    min_amount: Annotated[str, Query(max_length=20)] = "",
    assignee: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    decided: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    """The queue: the caller's own claims first, then everything pended, riskiest first."""
    errors: FormErrors = {}
    where = QueueFilter(
        hcode=_hcode(hcode, errors),
        reason=reason.strip() or None,
        min_amount=_amount(min_amount, errors),
        assignee=assignee_filter(assignee or None, principal),
    )
    repo, now = ReviewRepository(session), datetime.now(UTC)
    page = queue(repo, settings, where=where, cursor=cursor, limit=PAGE_SIZE, now=now)
    mine = queue(
        repo,
        settings,
        where=QueueFilter(assignee=principal.username),
        cursor=None,
        limit=50,
        now=now,
    )
    filters = {"hcode": hcode, "reason": reason, "min_amount": min_amount, "assignee": assignee}
    return render(
        request,
        "review/queue.html",
        {
            "page": page,
            "mine": mine.items,
            "filters": filters,
            "errors": errors,
            "decided": decided,
            "cursor": cursor,
        },
        status_code=400 if errors else 200,
    )


@dataclass(frozen=True, slots=True)
class ClaimPage:
    """One claim's page for one signed-in reviewer, in this request's session."""

    request: Request
    claim_id: str
    principal: StaffPrincipal
    session: Session
    settings: Settings

    async def form(self) -> dict[str, str]:
        return {k: str(v) for k, v in (await self.request.form()).items()}

    def view(
        self,
        errors: FormErrors | None = None,
        form: dict[str, str] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        return _claim_view(
            self.request,
            self.session,
            self.settings,
            self.principal,
            self.claim_id,
            errors,
            form,
            status,
        )

    def attempt(
        self,
        action: Callable[[ReviewContext], T],
        form: dict[str, str],
        field: str,
        rename: Callable[[str], str] = str,
    ) -> T | HTMLResponse:
        """Run one review action and commit; a refusal re-renders the page with its errors,
        each under the form field `rename` gives its API field (default: the same name)."""
        try:
            result = action(context(self.session, self.settings, self.principal))
        except ProblemError as exc:
            self.session.rollback()
            errors = {rename(k): v for k, v in _form_errors(exc, field).items()}
            return self.view(errors, form, exc.status)
        self.session.commit()
        return result


def claim_page(
    request: Request,
    claim_id: str,
    principal: StaffPage,
    session: WriterSessionDep,
    settings: SettingsDep,
) -> ClaimPage:
    """The claim page of the route's claim, for the signed-in reviewer."""
    return ClaimPage(request, claim_id, principal, session, settings)


ClaimPageDep = Annotated[ClaimPage, Depends(claim_page)]


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim_view(page: ClaimPageDep) -> HTMLResponse:
    """One claim with everything a reviewer needs, and the forms to act on it."""
    return page.view()


@router.post("/claims/{claim_id}/assign")
async def assign_form(page: ClaimPageDep) -> Response:
    """Take the claim (or, for a supervisor, give it to the named reviewer)."""
    form = await page.form()
    assignee = form.get("assignee", "").strip() or None
    done = page.attempt(lambda ctx: decisions.assign(ctx, page.claim_id, assignee), form, "lock")
    return done if isinstance(done, HTMLResponse) else _back_to(page)


@router.post("/claims/{claim_id}/release")
def release_form(page: ClaimPageDep) -> Response:
    """Give the claim back to the queue."""
    done = page.attempt(lambda ctx: decisions.release(ctx, page.claim_id), {}, "lock")
    return done if isinstance(done, HTMLResponse) else _back_to(page)


@router.post("/claims/{claim_id}/decision")
async def decision_form(page: ClaimPageDep) -> Response:
    """Record the decision; a final one returns to the queue, a four-eyes one to the claim."""
    form = await page.form()
    errors: FormErrors = {}
    body = _decision_request(form, errors)
    if body is None:
        return page.view(errors, form, 422)
    done = page.attempt(
        lambda ctx: decisions.decide(ctx, page.claim_id, body),
        form,
        "decision",
        rename=lambda field: _line_field(field, body),
    )
    if isinstance(done, HTMLResponse):
        return done
    if done.needs_second_approval:
        return RedirectResponse(f"/review/claims/{page.claim_id}?sent=second-approval", 303)
    return RedirectResponse(f"/review?decided={page.claim_id}", 303)


@router.post("/claims/{claim_id}/second-approval")
async def second_approval_form(page: ClaimPageDep) -> Response:
    """A second supervisor's word on a large denial or cut."""
    form = await page.form()
    approve, note = form.get("approve") == "yes", form.get("note", "")
    done = page.attempt(
        lambda ctx: decisions.second_approval(ctx, page.claim_id, approve, note),
        form,
        "second_note",
    )
    return done if isinstance(done, HTMLResponse) else RedirectResponse("/review/supervisor", 303)


def _back_to(page: ClaimPage) -> RedirectResponse:
    return RedirectResponse(f"/review/claims/{page.claim_id}", 303)


@router.get("/supervisor", response_class=HTMLResponse)
def supervisor_page(
    request: Request, principal: StaffPage, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """Backlog, throughput, SLA, overturns, the audit sample's figures and second approvals."""
    stats = review_stats(ReviewRepository(session), settings, datetime.now(UTC))
    return render(request, "review/supervisor.html", {"stats": stats})


def _claim_view(
    request: Request,
    session: Session,
    settings: Settings,
    principal: StaffPrincipal,
    claim_id: str,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ctx = context(session, settings, principal)
    detail = claim_detail(ctx, claim_id)
    session.commit()
    until = detail.lock_expires_at
    return render(
        request,
        "review/claim.html",
        {
            "c": detail,
            "errors": errors or {},
            "form": form or {},
            "holds_lock": detail.assignee == principal.username
            and until is not None
            and until > ctx.now,
            "peer_charts": [(p, peer_strip(p)) for p in detail.peer_positions],
            "timeline": person_timeline(detail.person_claims, ctx.now.date()),
            "sent": request.query_params.get("sent"),
        },
        status_code=status_code,
    )


def _decision_request(form: dict[str, str], errors: FormErrors) -> DecisionRequest | None:
    """The decision form as an API request; field errors collected for the page."""
    kind = form.get("decision", "")
    if kind not in {d.value for d in Decision}:
        errors["decision"] = {"en": "Choose a decision.", "th": "กรุณาเลือกผลการตัดสิน"}
        return None
    lines = []
    if kind == Decision.ADJUST:
        for name, value in form.items():
            if name.startswith("benefit-"):
                amount = _amount(value, errors, field=name)
                if amount is not None:
                    lines.append(
                        LineBenefit(sequence=int(name.removeprefix("benefit-")), benefit=amount)
                    )
    if errors:
        return None
    try:
        return DecisionRequest(
            decision=Decision(kind),
            note=form.get("note", ""),
            message_to_hospital=form.get("message_to_hospital") or None,
            lines=lines,
        )
    except ValidationError:
        errors["note"] = {"en": "The note or message is too long.", "th": "บันทึกหรือข้อความยาวเกินไป"}
        return None


def _form_errors(exc: ProblemError, default_field: str = "decision") -> FormErrors:
    """Problems as field errors; `lines[2].benefit` becomes the field of line 3's input."""
    errors: FormErrors = {}
    for found in exc.problems:
        field = found.expression or default_field
        errors[field] = {"en": found.message_en, "th": found.message_th}
    return errors


def _line_field(field: str, body: DecisionRequest) -> str:
    """The form input of an API field: `lines[2].benefit` is the input of that line's sequence."""
    if field.startswith("lines[") and "]" in field:
        index = int(field[6 : field.index("]")])
        if 0 <= index < len(body.lines):
            return f"benefit-{body.lines[index].sequence}"
    return field


def _hcode(value: str, errors: FormErrors) -> str | None:
    value = value.strip()
    if value and not (value.isdigit() and len(value) in (5, 9)):
        errors["hcode"] = {
            "en": "An HCODE is 5 or 9 digits.",
            "th": "รหัสสถานพยาบาลต้องเป็นตัวเลข 5 หรือ 9 หลัก",
        }
        return None
    return value or None


def _amount(value: str, errors: FormErrors, field: str = "min_amount") -> Decimal | None:
    value = value.strip().replace(",", "")
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount > Decimal(10) ** 11:
        errors[field] = {
            "en": "Enter an amount in baht, such as 1500 or 1500.50.",
            "th": "กรุณากรอกจำนวนเงินเป็นบาท เช่น 1500 หรือ 1500.50",
        }
        return None
    return amount.quantize(Decimal("0.01"))
