"""The weekly alarm review: candidates with evidence, decisions with reasons, sign-off, and the noise report.

A nested app on top of the catalog (``alarms``) and the alerts (``incidents``): it reads alert statistics only
through ``incidents.selectors``; neither the catalog nor ``incidents`` imports it.
"""
