"""Server-side staff sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from provider_registry.models import utcnow


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_sessions"

    id: str = Field(primary_key=True, max_length=64)
    username: str = Field(foreign_key="staff_users.username", index=True, max_length=32)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
