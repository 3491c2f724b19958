"""Tuning from the alarm's own metric: fetch its history, replay CloudWatch's evaluation under other settings,
and suggest the quietest setting that still catches every alert people acted on."""
