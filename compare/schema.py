"""The stored report's schema version, in a module of its own: the stale-report query needs it
without importing the comparison stack (``compare/report.py`` re-exports it)."""

SCHEMA_VERSION = 1  # bump it on any incompatible change of the report (compare/report.py's docstring)
