"""Regular expressions in mapping rules, kept from hanging a worker.

Three guards, because a rule's pattern is run against every alarm name of the estate, often: a length cap;
a static refusal of nested unbounded repeats (``(a+)+``, ``(x*)*``), the shape behind catastrophic
backtracking; and a time limit on evaluation for what the static check cannot see (``(a|aa)+$``). On
PostgreSQL the limit is the rules statement's ``statement_timeout``; on SQLite, where the match runs in
Python, each match runs under the ``regex`` module's timeout (the standard ``re`` cannot be interrupted).
"""

from __future__ import annotations

import re
from re import _constants as sre_constants  # the parser's node kinds; stable since Python 3.11
from re import _parser as sre_parse

import regex
from django.conf import settings

MATCH_TIMEOUT_SECONDS = 0.25  # per alarm name (at most 255 characters): any sane pattern takes microseconds

_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT}


class RegexTooCostly(Exception):
    """A regular expression ran past its time limit."""


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused as a rule's regular expression, or None when it is acceptable."""
    limit = settings.OKAMI_RULE_PATTERN_MAX_LENGTH
    if len(pattern) > limit:
        return f"At most {limit} characters."
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        return f"Not a valid regular expression: {exc}."
    if _nested_unbounded(parsed, inside_unbounded=False):
        return (
            "A repeat inside a repeat, such as (a+)+, can take forever on a long name; "
            "write it without the nesting, e.g. a+."
        )
    return None


def _nested_unbounded(items, *, inside_unbounded: bool) -> bool:
    for op, value in items:
        if op in _REPEATS:
            _low, high, sub = value
            unbounded = high == sre_constants.MAXREPEAT
            if unbounded and inside_unbounded:
                return True
            if _nested_unbounded(sub, inside_unbounded=inside_unbounded or unbounded):
                return True
        elif any(_nested_unbounded(sub, inside_unbounded=inside_unbounded) for sub in _children(op, value)):
            return True
    return False


def _children(op, value) -> list:
    """The sub-patterns of one parsed node."""
    if op in (sre_constants.SUBPATTERN, sre_constants.ATOMIC_GROUP):
        return [value[-1]]
    if op == sre_constants.BRANCH:
        return list(value[1])
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [value[1]]
    if op == sre_constants.GROUPREF_EXISTS:
        return [branch for branch in value[1:] if branch is not None]
    return []


def search(pattern: str, text: str):
    """``re.search`` semantics with a time limit (SQLite's REGEXP and capture functions)."""
    try:
        return regex.search(pattern, text, timeout=MATCH_TIMEOUT_SECONDS)
    except TimeoutError as exc:
        raise RegexTooCostly(f"the regular expression {pattern!r} took too long on {text!r}") from exc
