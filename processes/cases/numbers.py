"""Find phone and ID numbers (电话号码、身份证号) in text as people type them, and mask or remove them.

The one place that decides what counts as a personal number: masking for display, the guard that keeps personal
data out of workflow state, the audit writer's refusal, log and outbox text, search and retention all call it.

People (and people avoiding a filter) type `139 1234 5678`, `139-1234-5678`, `+86 139…`, `0086…`, full-width
digits, a zero-width space inside, `0577-6348 1234`, `330302 19900101 1234`. So detection runs on a normalised
copy of the text: NFKC (full-width and other decimal digits become 0-9), invisible characters dropped (zero-width
space and joiners, BOM, soft hyphen, bidi marks), and short runs of separators (spaces, hyphens and dashes, dots,
slashes, brackets) between digits removed. Every normalised character remembers where it came from, so a match
maps back to exactly the span that was typed and masking replaces that span.

What is found: mainland mobile numbers (1[3-9] and nine digits, with an optional +86 / 0086 / 086 / 86 / 0
prefix), landlines with their area code (010, 02x or 0 and three digits, then a 7-8 digit local number; or the
area code after +86 / 0086), and 18-character resident ID numbers (17 digits and a digit or X). A number pieced
together from groups must also look like an ID (region code, a birth date), so two dates and a count typed next
to each other are not one. Dates (2026-12-07), case numbers (DT20261125-0001), IP addresses, UUIDs and hex
digests, amounts, times and short numbers never match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from processes.accounts import pii

MOBILE, LANDLINE, ID_NUMBER = "mobile", "landline", "id_number"
# Characters that are never seen: zero-width space, joiners, word joiner, BOM, soft hyphen, bidi marks and
# isolates, Mongolian vowel separator. Category Cf covers them and the rest of the format characters.
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")
# Between digits these are spelling, not meaning (after NFKC, so full-width forms are included).
_SEPARATORS = frozenset(" -./\\()[]_\u00b7\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fb")
MAX_SEPARATORS = 3  # "139 - 1234": longer gaps between digits separate two numbers
# In the detection form a dropped separator leaves GAP: a number may span it or end at it, so in
# "138 1234 5678 / 13812345678" both numbers are found, and "2026-12-07 1391…" is not read as one run of digits.
GAP = "'"
_G = f"{GAP}?"
_D = rf"{_G}\d"
_PREFIX = rf"(?:\+86|0086|086|86){_G}"
# Longest first: an ID number before the phone numbers that could hide in it.
_PATTERNS = (
    (ID_NUMBER, re.compile(rf"(?<![\d+])(\d(?:{_D}){{16}}{_G}[\dX])(?![\dX])")),
    (MOBILE, re.compile(rf"(?<![\d+])(?:{_PREFIX}|0)?(1{_G}[3-9](?:{_D}){{9}})(?![\dX])")),
    # The area code is typed in one piece ("0577", "010", "+86 577"): "2026-12-07 2026-12-08 12" holds none.
    (LANDLINE, re.compile(rf"(?<![\d+])(?:{_PREFIX}0?|0)((?:10|2\d|[3-9]\d\d){_G}[2-9](?:{_D}){{6,7}})(?![\dX])")),
)
MIN_DIGITS = 10  # the shortest number found (010 and a 7-digit local number); fewer digits: nothing to look for
# Tokens that are not numbers at all, though they hold digits and separators: IP addresses (192.168.10.100 would
# read as a mobile number), UUIDs (9c3e1424-3382-468b…) and hex digests. Detection skips them.
_TOKENS = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
                     r"|(?<![0-9A-Za-z])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![0-9A-Za-z])"
                     r"|(?<![0-9A-Za-z])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
# A pieced-together ID must look like one: region code, birth year 18xx-20xx, month, day.
_ID_SHAPE = re.compile(r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]")


@dataclass(frozen=True)
class Found:
    """One number in a text: its kind, the typed span [start, end) and its digits (no country code)."""

    kind: str
    start: int
    end: int
    digits: str

    def masked(self) -> str:
        """Return the number masked (138****5678, 057*****1234, 330***********1234)."""
        if self.kind == ID_NUMBER:
            return pii.mask_id_number(self.digits)
        return pii.mask_phone(self.digits)


def _char_class(ch: str) -> str:
    """Return a character as detection sees it: a digit 0-9, '+', 'X', ' ' (a separator), '' (invisible) or '~'."""
    if ch in _INVISIBLE or unicodedata.category(ch) == "Cf":
        return ""
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) == 1:
        value = unicodedata.decimal(folded, None)
        if value is not None:
            return str(value)
        if folded in "+xX":
            return folded.upper()
        if folded in _SEPARATORS or folded.isspace():
            return " "
    return "~"


def normalise(text: str) -> tuple[str, list[int]]:
    """Return the detection form of a text and, per character of it, the index of the character it came from.

    Separators between two digits (or '+' and a digit) become one GAP when there are at most MAX_SEPARATORS of
    them; other separators become one blank, which keeps numbers apart.
    """
    skipped = {i for m in _TOKENS.finditer(text) for i in range(*m.span())}
    out: list[str] = []
    where: list[int] = []
    gap: list[int] = []  # indexes of the separators since the last digit
    for index, ch in enumerate(text):
        kind = "~" if index in skipped else _char_class(ch)
        if not kind:
            continue
        if kind == " ":
            gap.append(index)
            continue
        joins = kind.isdigit() or kind == "X"
        if gap:
            joined = joins and out and (out[-1].isdigit() or out[-1] == "+") and len(gap) <= MAX_SEPARATORS
            out.append(GAP if joined else " ")
            where.append(gap[0])
        gap = []
        out.append(kind)
        where.append(index)
    return "".join(out), where


def find_numbers(text: str | None) -> list[Found]:
    """Return the phone and ID numbers in a text, in order, with the spans as typed."""
    if not text or sum(map(str.isdigit, text)) < MIN_DIGITS:
        return []
    flat, where = normalise(text)
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(flat):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            first, last = where[start], where[end - 1] + 1
            if first and text[first - 1] in "(（" and any(c in text[first:last] for c in ")）"):
                first -= 1  # "(0577) 6348 1234": the bracket goes with the area code it opened
            digits = match.group(1).replace(GAP, "")
            if kind == ID_NUMBER and last - first != 18 and not _ID_SHAPE.fullmatch(digits):
                continue  # pieced together from groups and not shaped like an ID: dates, counts
            taken.append((start, end))
            digits = "0" + digits if kind == LANDLINE else digits
            found.append(Found(kind, first, last, digits))
    return sorted(found, key=lambda f: f.start)


def has_number(text: str | None) -> bool:
    """Return whether a text holds a full phone or ID number in any spelling."""
    return bool(find_numbers(text))


def replace_numbers(text: str | None, replacement: Callable[[Found], str]) -> str:
    """Return a text with each number's typed span replaced by `replacement(found)`."""
    if not text:
        return ""
    parts: list[str] = []
    done = 0
    for number in find_numbers(text):
        parts += [text[done:number.start], replacement(number)]
        done = number.end
    return "".join(parts) + text[done:]


def mask_numbers(text: str | None) -> str:
    """Return free text with full phone and ID numbers masked (138****5678, 110***********123X)."""
    return replace_numbers(text, Found.masked)


def scrub_numbers(text: str | None, replacement: str = "[已删除]") -> str:
    """Return a text with every phone and ID number removed, leaving `replacement` where it was."""
    return replace_numbers(text, lambda _found: replacement)
