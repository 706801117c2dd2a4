"""Queries for hospitals and API clients."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, func, select

from provider_registry.models import ApiClient, Hospital, HospitalNetwork, InsuredPerson


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


class InsuredPersonRepository:
    """The insured-person roster and the hospital networks it is checked against."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, person: str) -> InsuredPerson | None:
        """A roster entry by the person's keyed hash (`person_key`)."""
        return self.session.get(InsuredPerson, person)

    def has_members(self) -> bool:
        """Whether any roster entry is stored at all."""
        return self.session.exec(select(InsuredPerson.person_key).limit(1)).first() is not None

    def add(self, person: InsuredPerson) -> InsuredPerson:
        """Stage a new or changed roster entry."""
        self.session.add(person)
        return person

    def count(self) -> int:
        """How many people are on the roster."""
        return int(self.session.exec(select(func.count()).select_from(InsuredPerson)).one())

    def in_network(self, main_hcode: str, hcode: str) -> bool:
        """Whether `hcode` is in the network of the main hospital `main_hcode`."""
        return self.session.get(HospitalNetwork, (main_hcode, hcode)) is not None

    def add_network(self, link: HospitalNetwork) -> HospitalNetwork:
        """Stage a network link (idempotent on its key)."""
        if self.session.get(HospitalNetwork, (link.main_hcode, link.network_hcode)) is None:
            self.session.add(link)
        return link

    def networks(self) -> Sequence[HospitalNetwork]:
        """Every network link."""
        return self.session.exec(select(HospitalNetwork).order_by(HospitalNetwork.main_hcode)).all()
