"""`claimgw user add|list|disable|enable|set-password|unlock`: staff accounts.

Each change is an audit event acted by the OS user who ran the command. Passwords are read
without echo (asked twice) or from stdin with `--password-stdin`, and never printed.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.output import console, fail, print_json, print_table

if TYPE_CHECKING:
    from sqlmodel import Session

    from provider_registry.staff import StaffUser

app = typer.Typer(
    help="Staff accounts: reviewers, supervisors, finance, admins, auditors.", no_args_is_help=True
)

UsernameOpt = Annotated[str, typer.Option(help="The account's username")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (first line)")
]
ROLES = "reviewer|supervisor|finance|admin|auditor"


def _read_password(from_stdin: bool) -> str:
    """The new password, from stdin's first line or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _change(
    action: str, username: str, work: Callable[[Session], StaffUser], detail: dict[str, Any]
) -> StaffUser:
    """Run one account change and its audit event in one transaction; fail on StaffError."""
    from gateway.db import make_engine, session_scope, upgrade_database
    from gateway.settings import get_settings
    from gateway.staff.audit import record_staff_event
    from provider_registry.staff import StaffError

    settings = get_settings()
    upgrade_database(settings)
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            user = work(session)
            record_staff_event(
                session, actor=getpass.getuser(), action=action, username=username, detail=detail
            )
    except StaffError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    return user


def _end_sessions(session: Session, username: str) -> None:
    from gateway.staff.repository import StaffSessionRepository

    StaffSessionRepository(session).end_all_of(username)


@app.command("add")
def add(
    username: UsernameOpt,
    role: Annotated[str, typer.Option(help=ROLES)],
    password_stdin: StdinOpt = False,
) -> None:
    """Create a staff account with a role; the password needs at least 12 characters."""
    from provider_registry.staff import StaffError, add_staff_user, check_password_policy

    password = _read_password(password_stdin)
    try:
        check_password_policy(password)
    except StaffError as exc:
        fail(str(exc))
    user = _change(
        "staff.user_added",
        username,
        lambda s: add_staff_user(s, username=username, role=role, password=password),
        {"role": role},
    )
    console.print(f"added {user.username} ({user.role})")


@app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Every staff account: role, state, last sign-in."""
    from sqlmodel import Session

    from gateway.db import make_engine, upgrade_database
    from gateway.settings import get_settings
    from provider_registry.staff import list_staff_users

    settings = get_settings()
    upgrade_database(settings)
    engine = make_engine(settings)
    with Session(engine) as session:
        users = list_staff_users(session)
    engine.dispose()
    rows = [
        {
            "username": u.username,
            "role": u.role,
            "active": u.active,
            "locked_until": u.locked_until.isoformat() if u.locked_until else None,
            "created_at": u.created_at.isoformat(),
            "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
        }
        for u in users
    ]
    if as_json:
        print_json(rows)
        return
    columns = ["username", "role", "active", "locked_until", "last_login_at"]
    print_table("Staff accounts", columns, [[r[c] or "" for c in columns] for r in rows])


@app.command("disable")
def disable(username: UsernameOpt) -> None:
    """Stop an account signing in; its sessions end and its tokens stop working at once."""
    from provider_registry.staff import disable_staff_user

    def work(session: Session) -> StaffUser:
        _end_sessions(session, username)
        return disable_staff_user(session, username=username)

    _change("staff.user_disabled", username, work, {})
    console.print(f"disabled {username}")


@app.command("enable")
def enable(username: UsernameOpt) -> None:
    """Let a disabled account sign in again."""
    from provider_registry.staff import enable_staff_user

    _change(
        "staff.user_enabled", username, lambda s: enable_staff_user(s, username=username), {}
    )
    console.print(f"enabled {username}")


@app.command("set-password")
def set_password(username: UsernameOpt, password_stdin: StdinOpt = False) -> None:
    """Give an account a new password (at least 12 characters); its sessions end."""
    from provider_registry.staff import StaffError, check_password_policy, set_staff_password

    password = _read_password(password_stdin)
    try:
        check_password_policy(password)
    except StaffError as exc:
        fail(str(exc))

    def work(session: Session) -> StaffUser:
        _end_sessions(session, username)
        return set_staff_password(session, username=username, password=password)

    _change("staff.password_set", username, work, {})
    console.print(f"password changed for {username}")


@app.command("unlock")
def unlock(username: UsernameOpt) -> None:
    """Lift a lockout (5 failed sign-ins) before its 15 minutes are over."""
    from provider_registry.staff import unlock_staff_user

    _change("staff.unlocked", username, lambda s: unlock_staff_user(s, username=username), {})
    console.print(f"unlocked {username}")
