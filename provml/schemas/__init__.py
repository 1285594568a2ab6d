"""JSON Schemas shipped with provml (data only)."""
