"""Server-rendered pages of the catalog (catalog.py) and of ownership and coverage (ownership.py)."""
