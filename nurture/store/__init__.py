"""Storage: SQLModel tables (models.py), engines and migrations (engine.py, migrations/),
lead queries and upserts (leads.py), CSV imports (importing.py), claims and leases (queue.py)."""
