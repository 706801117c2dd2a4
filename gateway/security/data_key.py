"""Patient data at rest: AES-256-GCM under a rotatable keyring, and keyed hashes of CIDs.

Stored bundles, claim JSON, ClaimResponses, idempotency response bodies and notification
bodies hold names and citizen IDs. Their columns use `SealedText` (gateway/security/sealed.py),
which stores `gcm1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>` of the zlib-compressed text
(ciphertext does not compress, so PostgreSQL's TOAST compression no longer could, and a stored
row doubled; compressing first keeps it smaller than the plaintext was). The key id travels with
each row, so `claimgw keys rotate-data-key` can find and re-encrypt the rows of an older key while
the gateway keeps reading them. The column name is bound in as associated data, so a value
copied into another column does not decrypt.

Lookups by person use `person_key(cid)`: HMAC-SHA256 of the normalised CID under the lookup key,
never the CID itself (`claims.patient_key`, `benefit_uses.patient_key`).

Settings: `CLAIMGW_DATA_KEYS` = `id:base64key[,id:base64key...]` (the first encrypts, all
decrypt) and `CLAIMGW_LOOKUP_KEY` = base64key. Prod refuses to start without both
(gateway/settings.py); a dev process without them generates both into `var/data_keys` (mode
600) on first use and reads them from there after.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fhir_mappings.limits import normalise_citizen_id
from gateway.security.secrets import write_private_file
from gateway.settings import Settings

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
COMPRESSION: Final = 1  # zlib's fastest level: a bundle shrinks 4-5x for ~30 µs
FORMAT: Final = "gcm1"
KEYS_FILE: Final = "data_keys"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DataKeyError(RuntimeError):
    """A keyring that cannot be built, or a stored value that cannot be opened."""


@dataclass(frozen=True)
class Keyring:
    """Data keys by id (the active one encrypts) and the key of person lookups."""

    active_id: str
    keys: dict[str, bytes]
    lookup_key: bytes
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise DataKeyError(f"active data key {self.active_id!r} is not in the keyring")
        object.__setattr__(self, "_ciphers", {k: AESGCM(v) for k, v in self.keys.items()})

    def seal(self, plaintext: str, column: bytes) -> str:
        """The stored form of `plaintext` under the active key."""
        nonce = os.urandom(NONCE_BYTES)  # 96-bit random nonce per value (NIST SP 800-38D 8.2.2)
        packed = zlib.compress(plaintext.encode(), COMPRESSION)
        sealed = self._ciphers[self.active_id].encrypt(nonce, packed, column)
        return f"{FORMAT}:{self.active_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, column: bytes) -> str:
        """The plaintext of a stored value; a value stored before encryption passes as it is."""
        key_id = stored_key_id(stored)
        if key_id is None:
            return stored  # a row written before migration 0009: rotate-data-key seals it
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DataKeyError(f"data key {key_id!r} is not in CLAIMGW_DATA_KEYS")
        raw = base64.urlsafe_b64decode(stored.split(":", 2)[2])
        try:
            packed = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column)
        except InvalidTag as exc:
            raise DataKeyError(f"a value under data key {key_id!r} fails authentication") from exc
        return zlib.decompress(packed).decode()

    def person_key(self, cid: str) -> str:
        """The keyed hash that stands for a person in lookups (64 hex characters)."""
        digest = hmac.new(self.lookup_key, normalise_citizen_id(cid).encode(), hashlib.sha256)
        return digest.hexdigest()


def stored_key_id(stored: str) -> str | None:
    """The data key id a stored value was sealed with; None for a plaintext (legacy) value."""
    if not stored.startswith(FORMAT + ":"):
        return None
    parts = stored.split(":", 2)
    return parts[1] if len(parts) == 3 else None


def new_key_line(key_id: str) -> str:
    """`id:base64key` of a fresh random data key, as CLAIMGW_DATA_KEYS lists it."""
    if not KEY_ID.match(key_id):
        raise DataKeyError("a key id is 1-32 letters, digits, '-' or '_'")
    return f"{key_id}:{_b64(secrets.token_bytes(KEY_BYTES))}"


def parse_keyring(data_keys: str, lookup_key: str) -> Keyring:
    """The keyring of CLAIMGW_DATA_KEYS and CLAIMGW_LOOKUP_KEY (the first data key encrypts)."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in data_keys.split(",")):
        key_id, _, encoded = item.partition(":")
        if not KEY_ID.match(key_id) or key_id in keys:
            raise DataKeyError("CLAIMGW_DATA_KEYS: each entry is a new id:base64key")
        keys[key_id] = _key_bytes(encoded, "CLAIMGW_DATA_KEYS")
    if not keys:
        raise DataKeyError("CLAIMGW_DATA_KEYS is empty")
    return Keyring(next(iter(keys)), keys, _key_bytes(lookup_key, "CLAIMGW_LOOKUP_KEY"))


def keyring_from_settings(settings: Settings) -> Keyring:
    """The settings' keyring; in dev without keys, the one generated into `var/data_keys`."""
    if settings.data_keys is not None and settings.lookup_key is not None:
        return parse_keyring(
            settings.data_keys.get_secret_value(), settings.lookup_key.get_secret_value()
        )
    if settings.env != "dev":
        raise DataKeyError("CLAIMGW_DATA_KEYS and CLAIMGW_LOOKUP_KEY must be set in prod")
    if settings.data_keys is not None or settings.lookup_key is not None:
        raise DataKeyError("set both CLAIMGW_DATA_KEYS and CLAIMGW_LOOKUP_KEY, or neither")
    data_keys, lookup_key, _ = dev_data_keys(Path(settings.secrets_dir))
    return parse_keyring(data_keys, lookup_key)


def dev_data_keys(secrets_dir: Path) -> tuple[str, str, bool]:
    """(data keys, lookup key, created) from `var/data_keys`, generated on first use."""
    path = secrets_dir / KEYS_FILE
    text = f"data_keys={new_key_line('dev1')}\nlookup_key={_b64(secrets.token_bytes(KEY_BYTES))}\n"
    created = write_private_file(path, text.encode())
    if not created and path.stat().st_mode & 0o077:
        raise DataKeyError(f"{path} is readable by others; chmod 600 it or delete it")
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    if "data_keys" not in values or "lookup_key" not in values:
        raise DataKeyError(f"{path} must hold data_keys= and lookup_key= lines")
    return values["data_keys"], values["lookup_key"], created


def adopt_dev_data_keys(settings: Settings) -> str | None:
    """Put dev's generated keys into the environment (for uvicorn's workers); the line to print."""
    if settings.data_keys is not None or settings.lookup_key is not None:
        return None
    if settings.env != "dev":
        raise DataKeyError("CLAIMGW_DATA_KEYS and CLAIMGW_LOOKUP_KEY must be set in prod")
    data_keys, lookup_key, created = dev_data_keys(Path(settings.secrets_dir))
    os.environ["CLAIMGW_DATA_KEYS"] = data_keys
    os.environ["CLAIMGW_LOOKUP_KEY"] = lookup_key
    path = Path(settings.secrets_dir) / KEYS_FILE
    return f"data keys {'generated into' if created else 'read from'} {path} (mode 600)"


_installed: Keyring | None = None


def install(keyring: Keyring | None) -> None:
    """Make `keyring` the process's keyring (the app and CLI do it from their settings)."""
    global _installed
    _installed = keyring


def current() -> Keyring:
    """The process's keyring: the installed one, else the one of the environment's settings.

    Column types cannot take a FastAPI dependency, so the keyring is process state, set once
    at start from the same settings as the engine.
    """
    global _installed
    if _installed is None:
        from gateway.settings import get_settings

        _installed = keyring_from_settings(get_settings())
    return _installed


def person_key(cid: str) -> str:
    """The keyed hash that stands for a person in the database's lookups."""
    return current().person_key(cid)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _key_bytes(encoded: str, name: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(encoded.strip().encode())
    except (binascii.Error, ValueError) as exc:
        raise DataKeyError(f"{name}: a key is base64 of {KEY_BYTES} bytes") from exc
    if len(raw) != KEY_BYTES:
        raise DataKeyError(f"{name}: a key is base64 of {KEY_BYTES} bytes")
    return raw
