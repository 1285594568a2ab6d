"""The provml HTTP service (shipped as ``provml.server``)."""

from provml.server.app import create_app

__all__ = ["create_app"]
