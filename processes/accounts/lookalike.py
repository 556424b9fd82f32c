"""Look-alike usernames (形近用户名, issue 16 finding 6): mixed scripts and Unicode confusables (UTS #39).

`op1` spelt with a Cyrillic o (U+043E) reads as `op1`: in an audit row or the list of users the two are one
person. A username must keep to one script (Latin with Han is allowed: 中文拼音 names such as `zhang张`), and its
skeleton must differ from every existing account's. The skeleton maps each character to the prototype of its
confusable group in the Unicode confusables table that `confusable-homoglyphs` ships (confusables.txt, pinned with
the package), after the NFKC + casefold of `users.username_key`, and casefolds again, so `0p1`, `OP1` and the
Cyrillic-o `op1` share the skeleton `opl`.
"""

from __future__ import annotations

import functools
import unicodedata

import sqlalchemy as sa
from confusable_homoglyphs import categories
from confusable_homoglyphs import confusables
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser

# TR39 "highly restrictive": one script, or Latin with Han (Chinese names next to pinyin and digits).
_ALLOWED_MIXES = (frozenset({"LATIN", "HAN"}),)
_NEUTRAL = frozenset({"COMMON", "INHERITED"})  # digits, . _ @ - and combining marks belong to every script


def scripts(name: str) -> frozenset[str]:
    """Return the scripts a username's characters belong to (COMMON and INHERITED left out)."""
    return frozenset(categories.unique_aliases(name)) - _NEUTRAL


def mixed_script(name: str) -> bool:
    """Return whether a username mixes scripts in a way people cannot tell apart (Latin with Cyrillic …)."""
    used = scripts(name)
    return len(used) > 1 and not any(used <= allowed for allowed in _ALLOWED_MIXES)


@functools.cache
def _prototype(char: str) -> str:
    """Return the prototype of a character's confusable group ('0' → 'O', U+0456 → 'i', '1' → 'l'), or itself."""
    found = confusables.confusables_data.get(char)
    if not found:
        return char
    if len(found) > 1:  # a prototype lists all the characters mapped to it
        return char
    other = str(found[0]["c"]).replace("\u200e", "")  # the table wraps right-to-left glyphs in LRM marks
    if len(other) != 1 or len(confusables.confusables_data.get(other) or ()) > 1:
        return other  # the other one is the prototype (or a sequence such as 'rn' for 'm')
    return min(char, other)  # a pair mapped onto each other: either will do, the same for both


def skeleton(key: str) -> str:
    """Return the confusable skeleton of a username key: equal skeletons look alike."""
    mapped = "".join(_prototype(c) for c in unicodedata.normalize("NFD", key))
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", mapped).casefold())


def taken_by(session: Session, key: str) -> str | None:
    """Return the existing username that looks like the username key `key`, None when none does."""
    wanted = skeleton(key)
    # Accounts number in the hundreds: comparing with each is cheaper than keeping a second unique column.
    for other, shown in session.execute(sa.select(AppUser.username_key, AppUser.username)):
        if skeleton(other) == wanted:
            return str(shown)
    return None
