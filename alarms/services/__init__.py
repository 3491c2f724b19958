"""Writes of the catalog. Each module covers one concern; views, API, commands and tasks call these."""
