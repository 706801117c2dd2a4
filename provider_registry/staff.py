"""Staff accounts: roles, argon2 password hashes, sign-in with lockout.

Audit rows are written by the caller through an `AuditSink` (the registry never imports the
gateway); passwords and their hashes never reach a log line or an audit detail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pwdlib import PasswordHash
from sqlmodel import Field, Session, SQLModel, select

from provider_registry.models import as_utc, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")

password_hasher = PasswordHash.recommended()  # tests may swap in cheaper argon2 parameters
_dummy_hash: str | None = None

Clock = Callable[[], datetime]
AuditSink = Callable[[str, str, dict[str, Any]], None]
"""Receives (action, username, detail) for each sign-in event; detail never holds a secret."""


class Role(StrEnum):
    """What a staff user may do; the route table in `gateway/access.py` says where."""

    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    FINANCE = "finance"
    ADMIN = "admin"
    AUDITOR = "auditor"


class StaffUser(SQLModel, table=True):
    """An SSO staff member who signs in to the gateway's pages and staff API."""

    __tablename__ = "staff_users"

    username: str = Field(primary_key=True, max_length=32)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class StaffError(ValueError):
    """An account change that cannot be carried out (bad name, weak password, no such user)."""


class LoginRefused(Exception):
    """A refused sign-in. Callers show one message for every `reason`, so nobody learns which."""

    def __init__(self, reason: str) -> None:
        super().__init__("sign-in refused")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StaffUserView:
    """A staff account as listed to administrators (no hash)."""

    username: str
    role: str
    active: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None


class StaffRepository:
    """Staff accounts in one database session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, username: str) -> StaffUser | None:
        """An account by username."""
        return self.session.get(StaffUser, username)

    def get_for_update(self, username: str) -> StaffUser | None:
        """An account, row-locked until the transaction ends (serialises the failure count)."""
        query = select(StaffUser).where(StaffUser.username == username).with_for_update()
        return self.session.exec(query).first()

    def list(self) -> Sequence[StaffUser]:
        """Every account, by username."""
        return self.session.exec(select(StaffUser).order_by(StaffUser.username)).all()

    def add(self, user: StaffUser) -> StaffUser:
        """Stage a new or changed account."""
        self.session.add(user)
        return user


def _aware(moment: datetime | None) -> datetime | None:
    """A stored moment as aware UTC, or None."""
    return as_utc(moment) if moment is not None else None


def hash_password(password: str) -> str:
    """An argon2id hash of a password that meets the policy."""
    check_password_policy(password)
    return password_hasher.hash(password)


def check_password_policy(password: str) -> None:
    """At least 12 characters (and a sane upper bound, so hashing stays cheap)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")


def check_username(username: str) -> None:
    """Lower-case letters, digits, '.', '_' or '-'; 2 to 32 characters."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise StaffError(
            "a username is 2-32 characters: lower-case letters, digits, '.', '_' or '-'"
        )


def parse_role(role: str) -> Role:
    """A role by its value, or a StaffError naming the valid ones."""
    try:
        return Role(role)
    except ValueError:
        raise StaffError(f"role must be one of {', '.join(r.value for r in Role)}") from None


def add_staff_user(session: Session, *, username: str, role: str, password: str) -> StaffUser:
    """Create an account; the username must be new."""
    check_username(username)
    parsed = parse_role(role)
    repo = StaffRepository(session)
    if repo.get(username) is not None:
        raise StaffError(f"user {username!r} already exists")
    user = StaffUser(username=username, role=parsed.value, password_hash=hash_password(password))
    return repo.add(user)


def list_staff_users(session: Session) -> list[StaffUserView]:
    """Every account, without its password hash."""
    return [
        StaffUserView(
            username=u.username,
            role=u.role,
            active=u.active,
            locked_until=_aware(u.locked_until),
            created_at=_aware(u.created_at) or u.created_at,
            last_login_at=_aware(u.last_login_at),
        )
        for u in StaffRepository(session).list()
    ]


def _existing(session: Session, username: str) -> StaffUser:
    user = StaffRepository(session).get_for_update(username)
    if user is None:
        raise StaffError(f"no user {username!r}")
    return user


def disable_staff_user(session: Session, *, username: str) -> StaffUser:
    """Stop an account signing in; its sessions and tokens stop working at once."""
    user = _existing(session, username)
    user.active = False
    return StaffRepository(session).add(user)


def enable_staff_user(session: Session, *, username: str) -> StaffUser:
    """Let a disabled account sign in again."""
    user = _existing(session, username)
    user.active = True
    return StaffRepository(session).add(user)


def set_staff_password(session: Session, *, username: str, password: str) -> StaffUser:
    """Replace an account's password; clears its failure count and lock."""
    user = _existing(session, username)
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    return StaffRepository(session).add(user)


def unlock_staff_user(session: Session, *, username: str) -> StaffUser:
    """Lift a lockout before its 15 minutes are over."""
    user = _existing(session, username)
    user.failed_logins, user.locked_until = 0, None
    return StaffRepository(session).add(user)


def _dummy() -> str:
    """A hash to verify against when there is no account, so timing does not tell."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = password_hasher.hash("no-such-account-placeholder")
    return _dummy_hash


def _verify(password: str, user: StaffUser | None) -> tuple[bool, str | None]:
    if user is None or len(password) > MAX_PASSWORD_LENGTH:
        password_hasher.verify(password[:MAX_PASSWORD_LENGTH], _dummy())
        return False, None
    return password_hasher.verify_and_update(password, user.password_hash)


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    source: str,
    clock: Clock = utcnow,
    audit: AuditSink | None = None,
) -> StaffUser:
    """The account if the password is right and the account may sign in; LoginRefused otherwise.

    Commits: the failure count and the audit rows must outlive the refusal. Every path does
    one argon2 verification, so a locked, disabled or unknown account answers like a wrong
    password, in the same time.
    """
    record = audit or _ignore
    well_formed = USERNAME_PATTERN.fullmatch(username) is not None
    user = StaffRepository(session).get_for_update(username) if well_formed else None
    ok, new_hash = _verify(password, user)
    now = clock()
    reason = _refusal(user, ok, now)
    if user is None or reason is not None:
        shown = username if well_formed else "(malformed)"
        _record_refusal(session, user, reason or "unknown-user", now, source, record, shown)
        session.commit()
        raise LoginRefused(reason or "unknown-user")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if new_hash is not None:
        user.password_hash = new_hash
    session.add(user)
    record("staff.login", user.username, {"source": source, "role": user.role})
    session.commit()
    return user


def _ignore(_action: str, _username: str, _detail: dict[str, Any]) -> None:
    """The sink when nobody records sign-ins."""


def _refusal(user: StaffUser | None, ok: bool, now: datetime) -> str | None:
    if user is None:
        return "unknown-user"
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        return "locked"
    if not user.active:
        return "disabled"
    return None if ok else "wrong-password"


def _record_refusal(
    session: Session,
    user: StaffUser | None,
    reason: str,
    now: datetime,
    source: str,
    record: AuditSink,
    shown: str,
) -> None:
    """Count a wrong password of a live account; audit the failure and any lockout it causes."""
    detail: dict[str, Any] = {"source": source, "reason": reason}
    locked = False
    if user is not None and reason == "wrong-password":
        locked = _count_failure(user, now)
        detail["failed_logins"] = MAX_FAILED_LOGINS if locked else user.failed_logins
        session.add(user)
    record("staff.login_failed", shown, detail)
    if locked and user is not None and user.locked_until is not None:
        until = user.locked_until.isoformat()
        record("staff.locked", user.username, {"source": source, "until": until})


def _count_failure(user: StaffUser, now: datetime) -> bool:
    """One more failure in a row; the fifth locks the account (True) and starts a new count."""
    user.failed_logins += 1
    if user.failed_logins < MAX_FAILED_LOGINS:
        return False
    user.failed_logins, user.locked_until = 0, now + LOCKOUT
    return True
