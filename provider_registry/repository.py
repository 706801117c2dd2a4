"""Queries for hospitals and API clients."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select

from provider_registry.models import ApiClient, Hospital


class HospitalRepository:
    """Hospitals and their clients in one database session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, hcode: str) -> Hospital | None:
        """A hospital by HCODE."""
        return self.session.get(Hospital, hcode)

    def list(self) -> Sequence[Hospital]:
        """Every hospital, by HCODE."""
        return self.session.exec(select(Hospital).order_by(Hospital.hcode)).all()

    def add(self, hospital: Hospital) -> Hospital:
        """Stage a new or changed hospital."""
        self.session.add(hospital)
        return hospital

    def get_client(self, client_id: str) -> ApiClient | None:
        """An API client by client id."""
        return self.session.get(ApiClient, client_id)

    def clients_of(self, hcode: str) -> Sequence[ApiClient]:
        """The API clients of a hospital."""
        return self.session.exec(select(ApiClient).where(ApiClient.hcode == hcode)).all()

    def add_client(self, client: ApiClient) -> ApiClient:
        """Stage a new API client."""
        self.session.add(client)
        return client
