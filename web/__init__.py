"""The station's web side: the JSON API now, the pages later (see web.app.blueprints)."""
from .app import create_app

__all__ = ["create_app"]
