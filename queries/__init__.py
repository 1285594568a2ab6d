"""Canned SPARQL queries, one ``.rq`` file each (data only)."""
