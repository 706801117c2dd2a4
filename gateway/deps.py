"""FastAPI dependencies: settings, database sessions, the calling hospital."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.db import writer
from gateway.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    """The settings the application was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The application's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A reading session for one request."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_writer_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A writing session for one request; services commit explicitly before they answer."""
    with Session(writer(engine), expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
WriterSessionDep = Annotated[Session, Depends(get_writer_session)]
