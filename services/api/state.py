"""The API's lifespan state: everything the routes use, built once per app."""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass

from perimeter.bus import Bus
from perimeter.config import ApiSettings
from perimeter.site import Site
from perimeter.store import AlertStore
from services.api.live import LiveView
from services.api.metrics import ApiMetrics
from services.api.page_cache import PageCache
from services.api.tuning import ThresholdsKeeper


@dataclass(slots=True)
class ApiState:
    """What the routes reach through :mod:`services.api.deps`."""

    settings: ApiSettings
    site: Site
    store: AlertStore
    bus: Bus | None
    live: LiveView
    metrics: ApiMetrics
    thresholds: ThresholdsKeeper
    owns_store: bool
    pages: PageCache
    stopping: threading.Event
    """Set when the server begins to shut down: live streams end."""

    def token_matches(self, presented: str) -> bool:
        """Constant-time comparison with ``PERIMETER_API_TOKEN``; False when none is set."""
        token = self.settings.api_token
        if token is None or not token.get_secret_value():
            return False
        return hmac.compare_digest(presented.encode(), token.get_secret_value().encode())
