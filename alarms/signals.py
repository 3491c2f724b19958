"""Signals the catalog sends, so that apps building on it (alerts) act on its events without the catalog
importing them."""

from django.dispatch import Signal

# Sent by ``sync_aws`` after it refreshed a key: ``account`` (AwsAccount), ``region``, ``triggered_by``.
catalog_synced = Signal()
