"""Queries for server-side staff sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from gateway.staff.models import StaffSession


class StaffSessionRepository:
    """Signed-in browsers, by the SHA-256 of their cookie token."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, session_id: str) -> StaffSession | None:
        """A session by its id (the token's digest)."""
        return self.session.get(StaffSession, session_id)

    def add(self, staff_session: StaffSession) -> StaffSession:
        """Stage a new or renewed session."""
        self.session.add(staff_session)
        return staff_session

    def end(self, session_id: str) -> bool:
        """Delete one session; whether it existed."""
        result = self.session.execute(
            delete(StaffSession).where(col(StaffSession.id) == session_id)
        )
        return bool(getattr(result, "rowcount", 0))

    def end_all_of(self, username: str) -> None:
        """Delete every session of a user (disabled account, new password)."""
        self.session.execute(delete(StaffSession).where(col(StaffSession.username) == username))

    def purge_expired(self, now: datetime) -> None:
        """Drop sessions whose idle time ran out."""
        self.session.execute(delete(StaffSession).where(col(StaffSession.expires_at) < now))
