"""The lock-down of the embedded broker (rules in :mod:`perimeter.access`) in each broker's
terms: mosquitto's password and ACL files, and amqtt plugins that check the same rules.

amqtt 0.12's own plugins cannot express it (its ACL plugin keys on usernames only, so anonymous
clients could not be kept read-only, and it never checks a last will), hence the two plugins
here, loaded by dotted path from the broker's configuration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from perimeter.access import (
    READ_FILTER,
    Logins,
    check_password,
    hash_password,
    may_publish,
    write_filters,
)

LOCKDOWN_NOTES = {
    "mosquitto": "per-run logins (fusion, api, one per tower); each writes only its own topics; "
                 "anonymous clients may read perimeter/v1/# and write nothing",
    "amqtt": "per-run logins (fusion, api, one per tower) checked by the project's amqtt "
             "plugins; each writes only its own topics, anonymous clients read only. Not "
             "enforced by amqtt 0.12: a client presenting another's client id ends that "
             "client's session before its login is checked (client ids carry a random part "
             "per run, so only a holder of the id can)",
}
"""What ``perimeter up`` prints about the lock-down of each embedded broker."""


def mosquitto_auth_files(logins: Logins, folder: Path) -> tuple[Path, Path]:
    """Write mosquitto's password file and ACL (mode 0600) into ``folder``."""
    towers = frozenset(logins.towers)
    passwd, acl = folder / "passwd", folder / "acl"
    lines = [f"{login.username}:{hash_password(login.password)}" for login in logins.all()]
    rules = ["# anonymous clients: read only", f"topic read {READ_FILTER}"]
    for login in logins.all():
        rules += ["", f"user {login.username}", f"topic read {READ_FILTER}"]
        rules += [f"topic write {f}" for f in write_filters(login.username, towers)]
    for path, text in ((passwd, lines), (acl, rules)):
        path.touch(mode=0o600, exist_ok=True)
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return passwd, acl


def amqtt_logins_file(logins: Logins, folder: Path) -> Path:
    """Write the hashed logins the amqtt plugins read (mode 0600) into ``folder``."""
    path = folder / "logins.json"
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps({
        "towers": sorted(logins.towers),
        "users": {login.username: {"hash": hash_password(login.password),
                                   "client_id": login.client_id} for login in logins.all()},
    }), encoding="utf-8")
    return path


@dataclass(frozen=True, slots=True)
class _Users:
    towers: frozenset[str]
    hashes: dict[str, str]
    client_ids: dict[str, str]

    @classmethod
    def load(cls, path: str) -> _Users:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        users = raw["users"]
        return cls(frozenset(raw["towers"]), {u: v["hash"] for u, v in users.items()},
                   {u: v["client_id"] for u, v in users.items()})


@dataclass
class LoginsConfig:
    """Both plugins' configuration: the file :func:`amqtt_logins_file` wrote."""

    logins_file: str = ""


class LoginPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """amqtt authentication: a login must match its password and its own client id, and may
    leave a will only where it may publish; anonymous clients are let in (to read) without a
    will and without any login's client id."""

    Config = LoginsConfig

    def __init__(self, context: object) -> None:
        super().__init__(context)
        self.users = _Users.load(self.config.logins_file)

    async def authenticate(self, *, session: Session) -> bool | None:
        username = session.username or None
        if username is None:
            return not session.will_flag and session.client_id not in set(
                self.users.client_ids.values())
        hashed = self.users.hashes.get(username)
        if hashed is None or not check_password(session.password or "", hashed):
            return False
        if session.client_id != self.users.client_ids[username]:
            return False
        return not session.will_flag or may_publish(username, session.will_topic or "",
                                                    self.users.towers)


class WritePlugin(BaseTopicPlugin):  # type: ignore[misc]
    """amqtt topic check: publishes as :func:`perimeter.access.may_publish` says; everyone may
    subscribe and receive."""

    Config = LoginsConfig

    def __init__(self, context: object) -> None:
        super().__init__(context)
        self.users = _Users.load(self.config.logins_file)

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        if action != Action.PUBLISH:
            return True
        username = (session.username or None) if session is not None else None
        return topic is not None and may_publish(username, topic, self.users.towers)


def amqtt_plugins(logins_file: Path | None) -> dict[str, object]:
    """The ``plugins`` section of amqtt's configuration: the lock-down, or anonymous-only."""
    if logins_file is None:
        return {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
    config = {"logins_file": str(logins_file)}
    return {f"{__name__}.LoginPlugin": config, f"{__name__}.WritePlugin": config}
