"""The claim lifecycle: states and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class ClaimStatus(StrEnum):
    """Where a claim is in its life."""

    RECEIVED = "received"
    REJECTED = "rejected"
    ADJUDICATED = "adjudicated"
    APPROVED = "approved"
    PENDED_REVIEW = "pended_review"
    DENIED = "denied"
    ADJUSTED = "adjusted"
    INFO_REQUESTED = "info_requested"
    PENDING_SECOND_APPROVAL = "pending_second_approval"
    QUEUED_FOR_PAYMENT = "queued_for_payment"
    BATCHED = "batched"
    PAID = "paid"
    CANCELLED = "cancelled"


S = ClaimStatus
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.RECEIVED: frozenset({S.REJECTED, S.ADJUDICATED}),
    S.ADJUDICATED: frozenset({S.APPROVED, S.PENDED_REVIEW, S.REJECTED, S.CANCELLED}),
    S.PENDED_REVIEW: frozenset(
        {S.APPROVED, S.DENIED, S.ADJUSTED, S.INFO_REQUESTED, S.PENDING_SECOND_APPROVAL, S.CANCELLED}
    ),
    # A second supervisor confirms the first decision (denied or adjusted) or sends it back.
    S.PENDING_SECOND_APPROVAL: frozenset({S.DENIED, S.ADJUSTED, S.PENDED_REVIEW, S.CANCELLED}),
    S.INFO_REQUESTED: frozenset({S.PENDED_REVIEW, S.CANCELLED}),
    S.ADJUSTED: frozenset({S.QUEUED_FOR_PAYMENT, S.CANCELLED}),
    S.APPROVED: frozenset({S.QUEUED_FOR_PAYMENT, S.CANCELLED}),
    S.QUEUED_FOR_PAYMENT: frozenset({S.BATCHED, S.CANCELLED}),
    S.BATCHED: frozenset({S.PAID}),
}


class IllegalTransition(ValueError):
    """A lifecycle move the rules do not allow."""


def check_transition(current: ClaimStatus, target: ClaimStatus) -> None:
    """Refuse a move the lifecycle does not allow."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"a {current.value} claim cannot become {target.value}")


def path_to(target: ClaimStatus, start: ClaimStatus = S.RECEIVED) -> list[ClaimStatus]:
    """The states a new claim passes through on intake to reach target, checked step by step."""
    routes = {
        S.REJECTED: [S.REJECTED],
        S.PENDED_REVIEW: [S.ADJUDICATED, S.PENDED_REVIEW],
        S.QUEUED_FOR_PAYMENT: [S.ADJUDICATED, S.APPROVED, S.QUEUED_FOR_PAYMENT],
    }
    steps, current = routes[target], start
    for step in steps:
        check_transition(current, step)
        current = step
    return steps
