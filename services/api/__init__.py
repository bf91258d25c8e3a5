"""The REST API (FastAPI): ``create_app(settings, bus=..., store=...)``."""

from services.api.app import create_app

__all__ = ["create_app"]
