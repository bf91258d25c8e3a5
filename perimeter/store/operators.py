"""Operators of the console: a name, a role and a bearer token of which only a hash is kept.

A token reads ``wh_<key id>_<secret>``: the key id finds the operator's row, the secret is
checked against its scrypt hash (standard library :func:`hashlib.scrypt`, random salt). A
verified token is remembered per key id, so a request costs one indexed read, not a scrypt;
removing the operator refuses its token at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict

from perimeter.store.backend import Backend
from perimeter.store.records import StoreError

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
ROLE_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}
"""viewer < operator < admin: a role may do everything the roles below it may."""

BOOTSTRAP_NAME = "bootstrap-admin"
"""Who the holder of ``PERIMETER_API_TOKEN`` is in the records; no operator may take it."""
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.@-]{0,63}$")
TOKEN_PREFIX = "wh"
_TOKEN_RE = re.compile(r"^wh_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class Operator(BaseModel):
    """Who may use the console, and how far."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    created_at_wall_s: float


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) of ``secret`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a :func:`hash_secret` string (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                               p=int(p), dklen=len(digest) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def check_role(role: str) -> Role:
    """``role`` if it is one of :data:`ROLES`, else a :class:`StoreError` naming ``role``."""
    for known in ROLES:
        if role == known:
            return known
    raise StoreError("role", f"must be one of {', '.join(ROLES)}, got {role!r}")


class OperatorRegistry:
    """Add, list, remove and authenticate operators (table ``operators``)."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend
        self._verified: dict[str, tuple[str, bytes]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, role: str, at_wall_s: float) -> tuple[Operator, str]:
        """A new operator and its token (shown once: only its hash is stored)."""
        if not NAME_RE.match(name):
            raise StoreError("name", "must start with a letter and hold at most 64 letters, "
                                     f"digits or _ . @ -, got {name!r}")
        if name == BOOTSTRAP_NAME:
            raise StoreError("name", f"{name!r} is the holder of PERIMETER_API_TOKEN; choose "
                                     "another name")
        checked = check_role(role)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self._db.write() as tx:
            if tx.execute("SELECT 1 FROM operators WHERE name = ?", (name,)):
                raise StoreError("name", f"an operator named {name!r} exists; remove it first")
            tx.execute("INSERT INTO operators (name, role, key_id, token_hash, created_at_wall_s) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (name, checked, key_id, hash_secret(secret), at_wall_s))
        return (Operator(name=name, role=checked, created_at_wall_s=at_wall_s),
                f"{TOKEN_PREFIX}_{key_id}_{secret}")

    def remove(self, name: str) -> bool:
        """Remove ``name``; False when there was no such operator. Its token stops at once."""
        with self._db.write() as tx:
            found = tx.execute("SELECT key_id FROM operators WHERE name = ?", (name,))
            if found:
                tx.execute("DELETE FROM operators WHERE name = ?", (name,))
        if found:
            with self._lock:
                self._verified.pop(str(found[0][0]), None)
        return bool(found)

    def list(self) -> list[Operator]:
        """Every operator, by name."""
        rows = self._db.read("SELECT name, role, created_at_wall_s FROM operators ORDER BY name")
        return [Operator(name=n, role=check_role(r), created_at_wall_s=t) for n, r, t in rows]

    def count(self) -> int:
        return int(self._db.read("SELECT COUNT(*) FROM operators")[0][0])

    def authenticate(self, token: str) -> Operator | None:
        """The operator whose token this is, or None (unknown, removed or wrong)."""
        match = _TOKEN_RE.match(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        rows = self._db.read("SELECT name, role, token_hash, created_at_wall_s FROM operators "
                             "WHERE key_id = ?", (key_id,))
        if not rows:
            return None
        name, role, stored, created = rows[0]
        presented = hashlib.sha256(token.encode()).digest()
        with self._lock:
            known = self._verified.get(key_id)
        if known is None or known[0] != stored or not hmac.compare_digest(known[1], presented):
            if not verify_secret(secret, stored):
                return None
            with self._lock:
                self._verified[key_id] = (stored, presented)
        return Operator(name=name, role=check_role(role), created_at_wall_s=created)
