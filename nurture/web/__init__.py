"""The HTTP side: health, metrics, tracking, API and dashboard (FastAPI)."""
