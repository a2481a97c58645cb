"""The experiment as data: the model (frozen dataclasses), its validation, the checker thresholds,
and reading the YAML files of the catalogue (catalogue/, catalogue/alerts/)."""
