"""Password policy (密码策略) and argon2id hashing: pure functions, no database.

等保 身份鉴别 a asks for complexity and periodic change, which ASVS 5.0 forbids; we follow 等保 and keep the ASVS
compensations (security.md §1, AUTH-02/03): a common-password list, passphrases up to 128 characters, MFA later.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

from processes.accounts import strength

COMMON_PASSWORDS = Path(__file__).parent / "data" / "common_passwords.txt"
MIN_LENGTH_FLOOR = 8  # 等保 assessment practice: never fewer than 8 characters
MAX_LENGTH = 128  # bounds hashing work; ASVS asks that at least 64 be accepted


@dataclass(frozen=True)
class AccountPolicy:
    """Password, expiry, lockout and hashing-cost settings (from config keys PASSWORD_*, LOGIN_*, ARGON2_*)."""

    min_length: int = 12
    passphrase_length: int = 20  # from this length on, character classes are not required
    history: int = 5  # the last N passwords (the current one included) cannot be reused
    max_age_days: int = 90  # 0: passwords never expire
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=30)
    time_cost: int = 3  # argon2id cost: argon2-cffi's RFC 9106 low-memory profile
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    min_strength: int = 3  # zxcvbn score 0-4 a new password needs (strength.py); 0 turns the estimate off

    def __post_init__(self) -> None:
        if not MIN_LENGTH_FLOOR <= self.min_length <= MAX_LENGTH:
            raise ValueError(f"PASSWORD_MIN_LENGTH must be between {MIN_LENGTH_FLOOR} and {MAX_LENGTH}")
        if self.history < 1 or self.max_failures < 1 or self.max_age_days < 0:
            raise ValueError("PASSWORD_HISTORY and LOGIN_MAX_FAILURES must be ≥ 1, PASSWORD_MAX_AGE_DAYS ≥ 0")
        if not 0 <= self.min_strength <= strength.MAX_SCORE:
            raise ValueError(f"PASSWORD_MIN_STRENGTH must be between 0 and {strength.MAX_SCORE}")

    @property
    def hasher(self) -> PasswordHasher:
        """The argon2id hasher of this cost."""
        return _hasher(self.time_cost, self.memory_cost, self.parallelism)


def policy_from_config(config: Mapping[str, Any]) -> AccountPolicy:
    """Build the policy from the app's settings (webapp/config.py documents each key)."""
    return AccountPolicy(
        min_length=int(config["PASSWORD_MIN_LENGTH"]), history=int(config["PASSWORD_HISTORY"]),
        max_age_days=int(config["PASSWORD_MAX_AGE_DAYS"]), max_failures=int(config["LOGIN_MAX_FAILURES"]),
        failure_window=timedelta(minutes=float(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
        lockout=timedelta(minutes=float(config["LOGIN_LOCKOUT_MINUTES"])),
        time_cost=int(config["ARGON2_TIME_COST"]), memory_cost=int(config["ARGON2_MEMORY_KIB"]),
        parallelism=int(config["ARGON2_PARALLELISM"]), min_strength=int(config.get("PASSWORD_MIN_STRENGTH", 3)))


@functools.cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    """Return one hasher per cost."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    """Return a hash of a random-looking value at this cost, verified for unknown users to spend the same time."""
    return _hasher(time_cost, memory_cost, parallelism).hash("no account has this password \x00 dummy")


def normalise(password: str) -> str:
    """Return the password in NFKC, so full-width input from a Chinese IME equals its half-width form."""
    return unicodedata.normalize("NFKC", password)


def hash_password(policy: AccountPolicy, password: str) -> str:
    """Return the argon2id hash (PHC string) of a password."""
    return policy.hasher.hash(normalise(password))


def verify(policy: AccountPolicy, hashed: str, password: str) -> bool:
    """Return whether the password matches the hash (any argon2 cost); malformed hashes never match."""
    try:
        return policy.hasher.verify(hashed, normalise(password))
    except (VerificationError, InvalidHashError):
        return False


def prepare(policy: AccountPolicy) -> None:
    """Make the dummy hash of this cost now, so its one-time cost never falls on unknown users only."""
    _dummy_hash(policy.time_cost, policy.memory_cost, policy.parallelism)


def verify_dummy(policy: AccountPolicy, password: str) -> None:
    """Spend one verification on a dummy hash, so an unknown user costs as much time as a known one."""
    verify(policy, _dummy_hash(policy.time_cost, policy.memory_cost, policy.parallelism), password)


def needs_rehash(policy: AccountPolicy, hashed: str) -> bool:
    """Return whether a hash was made at another cost than the policy's (rehashed at the next login)."""
    try:
        return policy.hasher.check_needs_rehash(hashed)
    except InvalidHashError:
        return True


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the common-password list (casefolded), loaded once; '#' lines are comments."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _classes(password: str) -> int:
    """Count the character classes used: lower case, upper case, digits, others (symbols, Chinese …)."""
    lower = any(c.islower() for c in password)
    upper = any(c.isupper() for c in password)
    digit = any(c.isdigit() for c in password)
    other = any(not (c.islower() or c.isupper() or c.isdigit()) for c in password)
    return lower + upper + digit + other


def _stem(folded: str) -> str:
    """Return a password without the digits and symbols around it ('Admin@123456' → 'admin')."""
    return folded.strip("0123456789!@#$%^&*()-_=+.,;:?~`'\"[]{}<>/\\| ")


def _sequential(folded: str) -> bool:
    """Return whether most steps between neighbours repeat or count by one ('12345678901234567890')."""
    steps = [abs(ord(b) - ord(a)) <= 1 for a, b in itertools.pairwise(folded)]
    return bool(steps) and sum(steps) >= 0.75 * len(steps)


def check(policy: AccountPolicy, password: str, *, username: str = "") -> list[str]:
    """Return why a new password is refused (empty when it is acceptable); the history is checked separately."""
    pw = normalise(password)
    folded, user = pw.casefold(), unicodedata.normalize("NFKC", username).casefold()
    problems = []
    if len(pw) < policy.min_length:
        problems.append(f"too short: at least {policy.min_length} characters")
    if len(pw) > MAX_LENGTH:
        problems.append(f"too long: at most {MAX_LENGTH} characters")
    if len(pw) < policy.passphrase_length and _classes(pw) < 3:
        problems.append("use at least 3 of: lower case, upper case, digits, symbols "
                        f"(or a passphrase of {policy.passphrase_length} characters or more)")
    if len(set(folded)) < 5 or _sequential(folded):
        problems.append("too predictable: repeated or consecutive characters (aaaa, 1234, abcd)")
    if len(user) >= 3 and user in folded:
        problems.append("must not contain the username")
    stem = _stem(folded)
    if folded in common_passwords() or (len(stem) >= 4 and stem in common_passwords()):
        problems.append("too common: it is on the list of passwords attackers try first")
    if not problems:  # the estimate only adds to a password the rules let through, with its advice
        problems = strength.problems(pw, min_strength=policy.min_strength, user_inputs=[user], max_length=MAX_LENGTH)
    return problems


def reused(policy: AccountPolicy, password: str, previous: Iterable[str]) -> bool:
    """Return whether the password matches one of the previous hashes."""
    return any(verify(policy, hashed, password) for hashed in previous)


def expired(policy: AccountPolicy, changed_at: datetime, now: datetime) -> bool:
    """Return whether a password set at `changed_at` is older than the maximum age (AUTH-03)."""
    return policy.max_age_days > 0 and now - changed_at > timedelta(days=policy.max_age_days)
