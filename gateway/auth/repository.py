"""Queries for spent client assertions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.auth.models import UsedAssertion


class AssertionRepository:
    """Spent assertion ids, so that each assertion buys one token."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def spend(self, *, client_id: str, jti: str, expires_at: int) -> bool:
        """Record a jti; False when it was already spent."""
        self.session.execute(
            delete(UsedAssertion).where(UsedAssertion.expires_at < datetime.now(UTC))  # type: ignore[arg-type]
        )
        self.session.add(
            UsedAssertion(
                client_id=client_id, jti=jti, expires_at=datetime.fromtimestamp(expires_at, UTC)
            )
        )
        try:
            self.session.flush()
        except IntegrityError:
            self.session.rollback()
            return False
        return True
