"""Alerts, outcomes and incidents build on the alarm catalog (``alarms``); the catalog never imports this app."""
