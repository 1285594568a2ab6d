"""The SPARQL endpoint and web UI (shipped as ``provml.server``)."""
