"""Who may write what on the broker: the lock-down ``perimeter up`` gives its embedded broker.

One login per role, made fresh for each run (:func:`generate_logins`): ``fusion`` writes alerts,
tracks, its status and dead letters; ``api`` writes the thresholds and dead letters; each tower
logs in as its own id and writes only its own topics (``perimeter/v1/towers/<id>/#``).
Anonymous clients may read everything under ``perimeter/v1/`` and write nothing. Each login's
client id carries a random part, so a client that knows only the tower id cannot take over a
tower's session by its client id (neither broker checks a client id before the takeover).

:func:`write_filters` is the one statement of the rules: the mosquitto ACL is rendered from it
and the amqtt plugin checks against it (:func:`may_publish`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from perimeter import topics
from perimeter.bus import topic_matches

FUSION, API = "fusion", "api"
READ_FILTER = f"{topics.PREFIX}/#"
"""What every client, anonymous ones too, may subscribe to."""
PBKDF2_ITERATIONS = 101
"""mosquitto 2.0's own ``$7$`` hashes use 101 rounds of PBKDF2-SHA512; the passwords are
random 192-bit tokens, so the rounds are not what protects them."""


@dataclass(frozen=True, slots=True)
class Login:
    """One client's credentials."""

    username: str
    password: str
    client_id: str


@dataclass(frozen=True, slots=True)
class Logins:
    """Every login of one run: fusion, the API, and one per tower."""

    fusion: Login
    api: Login
    towers: dict[str, Login]

    def all(self) -> list[Login]:
        return [self.fusion, self.api, *self.towers.values()]

    def save_towers(self, path: Path) -> None:
        """The towers' logins as JSON (mode 0600), for ``PERIMETER_TOWER_LOGINS_FILE``."""
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(json.dumps({tid: asdict(login) for tid, login in self.towers.items()}),
                        encoding="utf-8")


def _login(username: str) -> Login:
    return Login(username, secrets.token_urlsafe(24), f"{username}-{secrets.token_hex(8)}")


def generate_logins(tower_ids: list[str]) -> Logins:
    """Fresh random logins for fusion, the API and each tower."""
    return Logins(_login(FUSION), _login(API), {tid: _login(tid) for tid in tower_ids})


def tower_password(secret: str, tower_id: str) -> str:
    """A tower's broker password derived from the towers' shared secret (compose): the hex
    SHA-256 of ``"<secret>:<tower id>"``, as deploy/mosquitto/make-passwd.sh derives it."""
    return hashlib.sha256(f"{secret}:{tower_id}".encode()).hexdigest()


def derived_tower_login(secret: str, tower_id: str) -> Login:
    """The login of ``tower_id`` under a towers' secret; its client id has a random part."""
    return Login(tower_id, tower_password(secret, tower_id),
                 f"{tower_id}-{secrets.token_hex(8)}")


def load_tower_logins(path: str | Path) -> dict[str, Login]:
    """Tower logins saved by :meth:`Logins.save_towers`; ValueError naming what is wrong."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return {tid: Login(str(v["username"]), str(v["password"]), str(v["client_id"]))
                for tid, v in raw.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"tower_logins_file: cannot read {path}: {exc}") from None


def write_filters(username: str | None, tower_ids: set[str] | frozenset[str]) -> list[str]:
    """The topic filters ``username`` may publish to (none for anonymous or unknown users)."""
    if username == FUSION:
        return [topics.ALERTS, topics.TRACKS, topics.FUSION_STATUS, topics.DEADLETTER]
    if username == API:
        return [topics.THRESHOLDS, topics.DEADLETTER]
    if username is not None and username in tower_ids:
        return [f"{topics.PREFIX}/towers/{username}/#"]
    return []


def may_publish(username: str | None, topic: str, tower_ids: set[str] | frozenset[str]) -> bool:
    """Whether ``username`` (None: anonymous) may publish (or leave a will) on ``topic``."""
    return any(topic_matches(f, topic) for f in write_filters(username, tower_ids))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """mosquitto 2.0's password-file hash: ``$7$<rounds>$<salt b64>$<PBKDF2-SHA512 b64>``."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    salt_b64, digest_b64 = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"$7${PBKDF2_ITERATIONS}${salt_b64}${digest_b64}"


def check_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` hash (constant-time compare)."""
    try:
        _, kind, rounds, salt_b64, digest_b64 = hashed.split("$")
        if kind != "7":
            return False
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt_b64),
                                     int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))
