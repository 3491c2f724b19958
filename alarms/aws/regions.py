"""Region codes by the display names AWS writes in some messages ("US East (N. Virginia)" → us-east-1),
from the endpoint data botocore ships (no network)."""

from __future__ import annotations

from functools import cache

import botocore.session


@cache
def _codes_by_name() -> dict[str, str]:
    endpoints = botocore.session.get_session().get_data("endpoints")
    return {
        description.lower(): code
        for partition in endpoints.get("partitions", [])
        for code, region in partition.get("regions", {}).items()
        if (description := region.get("description"))
    }


def region_code(display_name: str) -> str:
    """The region code for a display name, a code given as it is, or "" when unknown."""
    name = (display_name or "").strip()
    if name in _codes_by_name().values():
        return name
    return _codes_by_name().get(name.lower(), "")
