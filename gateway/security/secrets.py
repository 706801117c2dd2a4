"""The token secret of a dev server: never the one written in the source.

`claimgw serve` in dev without CLAIMGW_TOKEN_SECRET generates a random secret into
`var/token_secret` on first start (created with mode 600, never widened later) and reuses it
after; it says which on start. Prod refuses the default (gateway/settings.py). Tests and
`create_app(settings)` callers pass their settings explicitly and are not affected.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.settings import DEFAULT_TOKEN_SECRET, Settings

SECRET_FILE = "token_secret"


def write_private_file(path: Path, data: bytes) -> bool:
    """Create `path` with mode 600 from the start (O_EXCL); False when it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True


def dev_token_secret(settings: Settings) -> tuple[str, str] | None:
    """(secret, what happened) for a dev server still on the default secret, else None."""
    if settings.token_secret.get_secret_value() != DEFAULT_TOKEN_SECRET:
        return None
    if settings.env != "dev":
        raise RuntimeError("refusing to start on the default token secret")
    path = Path(settings.secrets_dir) / SECRET_FILE
    created = write_private_file(path, secrets.token_urlsafe(48).encode())
    if not created and path.stat().st_mode & 0o077:
        raise RuntimeError(f"{path} is readable by others; chmod 600 it or delete it")
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds a secret shorter than 32 characters")
    return secret, f"token secret {'generated into' if created else 'read from'} {path} (mode 600)"


def adopt_dev_token_secret(settings: Settings) -> str | None:
    """Put the dev secret into the environment (for uvicorn's workers); the line to print."""
    found = dev_token_secret(settings)
    if found is None:
        return None
    secret, said = found
    os.environ["CLAIMGW_TOKEN_SECRET"] = secret
    return said
