"""The PROV-ML OWL ontology and the ontologies it imports (data only)."""
