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
    if _ambiguous_repeat(parsed):
        return (
            "A repeat inside a repeat that can split a name in many ways, such as (a+)+ or (\\w+\\s?)*, can "
            "take forever on a long name; write it without the nesting (a+), or separate the repeats (-[a-z]+)*."
        )
    return None


def _ambiguous_repeat(items) -> bool:
    """Whether some unbounded repeat can split its input into iterations in many ways: its body can match
    nothing, or the body can end in an unbounded repeat whose characters can also start the next iteration
    (``(a+)+``, ``(\\w+\\s?)*``). Separated shapes such as ``(?:-[a-z]+)*`` or ``(?:[a-z]+-)*`` are fine."""
    for op, value in items:
        if op in _REPEATS:
            _low, high, body = value
            if high == sre_constants.MAXREPEAT and _contains_unbounded(body):
                if _nullable(body):
                    return True
                starts = _first(body)
                if any(_chars(tail) & starts for tail in _tail_repeats(body)):
                    return True
            if _ambiguous_repeat(body):
                return True
        elif any(_ambiguous_repeat(sub) for sub in _children(op, value)):
            return True
    return False


def _contains_unbounded(items) -> bool:
    for op, value in items:
        if op in _REPEATS and (value[1] == sre_constants.MAXREPEAT or _contains_unbounded(value[2])):
            return True
        if op not in _REPEATS and any(_contains_unbounded(sub) for sub in _children(op, value)):
            return True
    return False


def _tail_repeats(items) -> list:
    """The unbounded repeats a match of ``items`` can end in (everything after them can match nothing)."""
    tails = []
    for op, value in reversed(list(items)):
        node = [(op, value)]
        if op in _REPEATS:
            if value[1] == sre_constants.MAXREPEAT:
                tails.append(node)
            tails += _tail_repeats(value[2])
        else:
            for sub in _children(op, value):
                tails += _tail_repeats(sub)
        if not _nullable(node):
            break
    return tails


def _nullable(items) -> bool:
    """Whether ``items`` can match the empty string."""
    for op, value in items:
        if op in _REPEATS:
            if value[0] > 0 and not _nullable(value[2]):
                return False
        elif op == sre_constants.BRANCH:
            if not any(_nullable(branch) for branch in value[1]):
                return False
        elif op in (sre_constants.SUBPATTERN, sre_constants.ATOMIC_GROUP):
            if not _nullable(value[-1]):
                return False
        elif op not in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            return False
    return True


def _first(items) -> frozenset[str]:
    """The characters a match of ``items`` can start with."""
    found: set[str] = set()
    for op, value in items:
        node = [(op, value)]
        if op in _REPEATS:
            found |= _first(value[2])
        elif op == sre_constants.BRANCH:
            for branch in value[1]:
                found |= _first(branch)
        elif op in (sre_constants.SUBPATTERN, sre_constants.ATOMIC_GROUP):
            found |= _first(value[-1])
        else:
            found |= _chars(node)
        if not _nullable(node):
            break
    return frozenset(found)


def _chars(items) -> frozenset[str]:
    """Every character ``items`` can match anywhere (over ASCII, plus one sample beyond it)."""
    found: set[str] = set()
    for op, value in items:
        if op == sre_constants.LITERAL:
            found.add(chr(value))
        elif op in (sre_constants.NOT_LITERAL, sre_constants.ANY, sre_constants.GROUPREF):
            found |= _UNIVERSE - ({chr(value)} if op == sre_constants.NOT_LITERAL else set())
        elif op == sre_constants.IN:
            found |= _class_chars(value)
        elif op in _REPEATS:
            found |= _chars(value[2])
        else:
            for sub in _children(op, value):
                found |= _chars(sub)
    return frozenset(found)


def _children(op, value) -> list:
    """The sub-patterns of one parsed node that is not a repeat."""
    if op in (sre_constants.SUBPATTERN, sre_constants.ATOMIC_GROUP):
        return [value[-1]]
    if op == sre_constants.BRANCH:
        return list(value[1])
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [value[1]]
    if op == sre_constants.GROUPREF_EXISTS:
        return [branch for branch in value[1:] if branch is not None]
    return []


def _class_chars(members) -> set[str]:
    negate = bool(members) and members[0][0] == sre_constants.NEGATE
    chosen = set()
    for op, value in members[1:] if negate else members:
        if op == sre_constants.LITERAL:
            chosen.add(chr(value))
        elif op == sre_constants.RANGE:
            chosen |= {c for c in _UNIVERSE if value[0] <= ord(c) <= value[1]}
        elif op == sre_constants.CATEGORY:
            chosen |= {c for c in _UNIVERSE if _CATEGORIES[value].match(c)}
        else:
            chosen |= _UNIVERSE  # anything unusual: assume it may overlap
    return _UNIVERSE - chosen if negate else chosen


_UNIVERSE = frozenset(chr(code) for code in range(128)) | {"é"}
_CATEGORIES = {
    sre_constants.CATEGORY_DIGIT: re.compile(r"\d"),
    sre_constants.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    sre_constants.CATEGORY_SPACE: re.compile(r"\s"),
    sre_constants.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    sre_constants.CATEGORY_WORD: re.compile(r"\w"),
    sre_constants.CATEGORY_NOT_WORD: re.compile(r"\W"),
}


def search(pattern: str, text: str):
    """``re.search`` semantics with a time limit (SQLite's REGEXP and capture functions)."""
    try:
        return regex.search(pattern, text, timeout=MATCH_TIMEOUT_SECONDS)
    except TimeoutError as exc:
        raise RegexTooCostly(f"the regular expression {pattern!r} took too long on {text!r}") from exc
