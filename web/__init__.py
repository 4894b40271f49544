"""Web app (FastAPI + Jinja2, server-rendered)."""
