"""Service settings from options or ``PERIMETER_*`` environment variables; they fail fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from perimeter.thresholds import Thresholds


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PERIMETER_", extra="ignore", frozen=True)


class MqttSettings(_Settings):
    """Where the broker is and how to log in.

    ``broker_url`` may list the nodes of a clustered broker, nearest first, separated by commas
    (``mqtt://10.0.0.5:1883,mqtt://10.0.1.5:1883``): the client connects to the first that
    answers and, when its node is lost, reconnects to the next (see :mod:`services.mqtt`)."""

    broker_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    client_id: str | None = None

    @field_validator("broker_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        for url in value.split(","):
            parts = urlsplit(url.strip())
            if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
                raise ValueError("broker_url must look like mqtt://HOST:PORT (or a comma list "
                                 f"of them), got {value!r}")
        return value

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every broker node listed, in order (nearest first)."""
        parts = [urlsplit(url.strip()) for url in self.broker_url.split(",")]
        return [(p.hostname or "127.0.0.1", p.port or 1883) for p in parts]

    @property
    def host(self) -> str:
        return self.addresses[0][0]

    @property
    def port(self) -> int:
        return self.addresses[0][1]


class SimSettings(MqttSettings):
    """The tower simulation (``perimeter sim``)."""

    scenario: str = "default"
    site: str | None = None
    speed: Annotated[float, Field(gt=0.0, le=10_000.0)] = 1.0
    tower_secret: SecretStr | None = None
    """The towers' shared secret (compose): each tower logs in as its id with the password
    :func:`perimeter.access.tower_password` derives from it."""
    tower_logins_file: str | None = None
    """Each tower's own broker login (JSON, :func:`perimeter.access.load_tower_logins`);
    without, every tower uses ``mqtt_username`` and its tower id as client id."""


class FusionSettings(MqttSettings):
    """The fusion service (``perimeter fusion``)."""

    db_url: str = "sqlite:///perimeter.db"
    site: str = "western-heights"
    thresholds_file: str | None = None
    run_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None
    """The session: alerts of other runs left open are closed as superseded at start, this
    run's are taken over. None: a new run id at every start."""

    def load_thresholds(self) -> Thresholds:
        """The thresholds of :attr:`thresholds_file`, or the defaults without one."""
        from perimeter.thresholds import Thresholds, load_thresholds

        return load_thresholds(self.thresholds_file) if self.thresholds_file else Thresholds()


class ApiSettings(MqttSettings):
    """The REST API (``perimeter api``)."""

    db_url: str = "sqlite:///perimeter.db"
    site: str = "western-heights"
    api_host: str = "127.0.0.1"
    api_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    api_token: SecretStr | None = None
    cors_origins: list[str] = []
    sse_max_clients: Annotated[int, Field(ge=1, le=100_000)] = 100
    """Open alert streams at most; one more is answered 503."""
    header_timeout_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 10.0
    """A request's line and headers must arrive within this, else the connection closes."""
    idle_timeout_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 30.0
    """A request body that stalls this long closes the connection."""
    keep_alive_s: Annotated[int, Field(ge=1, le=3600)] = 5
    """An idle keep-alive connection closes after this (uvicorn ``timeout_keep_alive``)."""
