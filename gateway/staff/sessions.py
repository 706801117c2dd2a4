"""Server-side staff sessions behind the `claimgw_session` cookie, with CSRF tokens.

The cookie holds a random token; the database keeps only its SHA-256, the user, a CSRF
token and the idle deadline, which moves forward on activity (at most once a minute).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.db import writer
from gateway.settings import Settings
from gateway.staff.models import StaffSession
from gateway.staff.repository import StaffSessionRepository
from provider_registry.models import as_utc, utcnow
from provider_registry.staff import Role, StaffRepository

SESSION_COOKIE = "claimgw_session"
RENEW_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """A live session and the account behind it."""

    session_id: str
    username: str
    role: Role
    csrf_token: str


def token_digest(token: str) -> str:
    """The stored id of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def idle_timeout(settings: Settings) -> timedelta:
    """How long a session lives without activity."""
    return timedelta(hours=settings.staff_session_idle_hours)


def secure_cookies(settings: Settings) -> bool:
    """Cookies are Secure when the gateway is served over https."""
    return settings.base_url.lower().startswith("https://")


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def start_session(session: Session, *, username: str, idle: timedelta) -> str:
    """Stage a new session for a signed-in user; returns the cookie token (never stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    repo = StaffSessionRepository(session)
    repo.purge_expired(now)
    repo.add(
        StaffSession(
            id=token_digest(token),
            username=username,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + idle,
        )
    )
    return token


def resolve_session(
    engine: Engine, token: str, *, idle: timedelta, now: datetime | None = None
) -> ActiveSession | None:
    """The live session of a cookie token, renewed; None when unknown, idle too long or
    its account is disabled."""
    now = now or utcnow()
    session_id = token_digest(token)
    with Session(engine, expire_on_commit=False) as db:
        found = StaffSessionRepository(db).get(session_id)
        user = StaffRepository(db).get(found.username) if found else None
        if found is None or user is None:
            return None
        if as_utc(found.expires_at) <= now or not user.active:
            _end(engine, session_id, now)
            return None
        active = ActiveSession(session_id, user.username, Role(user.role), found.csrf_token)
        stale = now - as_utc(found.last_seen_at) >= RENEW_AFTER
    if stale:
        _renew(engine, session_id, now, idle)
    return active


def _renew(engine: Engine, session_id: str, now: datetime, idle: timedelta) -> None:
    with Session(writer(engine), expire_on_commit=False) as db:
        repo = StaffSessionRepository(db)
        found = repo.get(session_id)
        if found is not None:
            found.last_seen_at, found.expires_at = now, now + idle
            repo.add(found)
        db.commit()


def _end(engine: Engine, session_id: str, now: datetime) -> None:
    with Session(writer(engine), expire_on_commit=False) as db:
        repo = StaffSessionRepository(db)
        repo.end(session_id)
        repo.purge_expired(now)
        db.commit()


def end_session(session: Session, token: str) -> str | None:
    """Stage the end of a session; the username it belonged to, if it existed."""
    repo = StaffSessionRepository(session)
    found = repo.get(token_digest(token))
    if found is None:
        return None
    repo.end(found.id)
    return found.username
