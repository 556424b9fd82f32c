"""Password strength estimate (密码强度, issue 16 finding 7): zxcvbn's score beside the composition rules.

The rules of `passwords.check` count character classes; `password password password` passes them and is still
guessed at once. zxcvbn (Dropbox's estimator: dictionaries, keyboard walks, repeats, dates, l33t) scores a password
0-4 by the guesses it needs; the policy asks for `min_strength` (PASSWORD_MIN_STRENGTH, default 3: about 10^8
guesses, beyond an online attack's reach). Its feedback is English; `webapp.password_feedback` says it in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass

from zxcvbn import zxcvbn

MAX_SCORE = 4
FEEDBACK_PREFIX = "hint: "  # problems starting with it are zxcvbn's advice, not rules of their own


@dataclass(frozen=True)
class Strength:
    """zxcvbn's verdict on one password: score 0-4, its warning and suggestions (English, may be empty)."""

    score: int
    warning: str
    suggestions: tuple[str, ...]


def estimate(password: str, *, user_inputs: list[str], max_length: int) -> Strength:
    """Return zxcvbn's score and feedback; the username and the like count as known words."""
    verdict = zxcvbn(password, user_inputs=[u for u in user_inputs if u], max_length=max_length)
    feedback = verdict.get("feedback") or {}
    return Strength(int(verdict["score"]), str(feedback.get("warning") or ""),
                    tuple(str(s) for s in feedback.get("suggestions") or ()))


def problems(password: str, *, min_strength: int, user_inputs: list[str], max_length: int) -> list[str]:
    """Return why a password is too guessable (a problem and zxcvbn's advice), empty when it is strong enough."""
    if min_strength <= 0 or not password or len(password) > max_length:
        return []
    found = estimate(password, user_inputs=user_inputs, max_length=max_length)
    if found.score >= min_strength:
        return []
    advice = ([found.warning] if found.warning else []) + list(found.suggestions)
    return [f"too guessable: strength {found.score} of {MAX_SCORE}, at least {min_strength} needed",
            *(FEEDBACK_PREFIX + text for text in advice)]
