"""SHACL shapes for PROV-ML graphs (data only)."""
