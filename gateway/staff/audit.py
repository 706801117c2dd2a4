"""Audit rows for staff accounts: sign-ins, failures, lockouts and account changes."""

from __future__ import annotations

import json
from typing import Any

import structlog
from sqlmodel import Session

from gateway.claims.models import AuditEvent
from gateway.security.events import SECURITY_EVENTS
from provider_registry.staff import AuditSink

log = structlog.get_logger("claimgw.staff")

ENTITY_TYPE = "StaffUser"
WARN_ACTIONS = frozenset({"staff.login_failed", "staff.locked"})


def record_staff_event(
    session: Session, *, actor: str, action: str, username: str, detail: dict[str, Any]
) -> None:
    """Stage an audit row about a staff account (the caller commits); warn on failures."""
    session.add(
        AuditEvent(
            actor=actor[:100],
            action=action,
            entity_type=ENTITY_TYPE,
            entity_id=username[:36],
            detail=json.dumps(detail, default=str, sort_keys=True),
        )
    )
    if action in WARN_ACTIONS:
        log.warning(action, username=username[:36], **{k: str(v) for k, v in detail.items()})
        SECURITY_EVENTS.labels(action.replace(".", "_")).inc()  # staff_login_failed, staff_locked


def audit_sink(session: Session) -> AuditSink:
    """A sink for `authenticate`: each sign-in event is acted by the account it names."""

    def sink(action: str, username: str, detail: dict[str, Any]) -> None:
        record_staff_event(session, actor=username, action=action, username=username, detail=detail)

    return sink
