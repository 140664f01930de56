"""SMS backends: ``console`` (development), ``locmem`` (tests) and ``http`` (a provider)."""
