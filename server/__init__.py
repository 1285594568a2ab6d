"""The provml HTTP service (shipped as ``provml.server``)."""

from provml.server.app import create_app
from provml.server.context import Settings

__all__ = ["Settings", "create_app"]
