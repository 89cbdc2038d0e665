"""Property tests: specs generated from the schema, and mutants of the examples."""
