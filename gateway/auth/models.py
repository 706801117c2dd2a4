"""Tables of token issuance."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class UsedAssertion(SQLModel, table=True):
    """A client assertion's jti, kept until it expires so it cannot be replayed."""

    __tablename__ = "used_assertions"

    client_id: str = Field(primary_key=True, max_length=64)
    jti: str = Field(primary_key=True, max_length=200)
    expires_at: datetime = Field(index=True)
