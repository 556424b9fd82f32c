"""zxcvbn's password advice in Chinese (密码强度提示): the estimator's warnings and suggestions, one table.

`processes.accounts.strength` refuses a guessable password with "too guessable: strength S of 4, at least N
needed" followed by zxcvbn's own English lines (prefixed "hint: "); `webapp.messages.translate` sends both here.
"""

from __future__ import annotations

import re

from processes.accounts.strength import FEEDBACK_PREFIX
from webapp.messages import _l

TOO_GUESSABLE = re.compile(r"too guessable: strength (\d) of (\d), at least (\d) needed")
GUESSABLE_TEXT = _l("密码容易被猜中：强度 {0}/{1}，至少需要 {2}。")
OTHER_HINT = _l("换一个更长、不常见的口令短语。")

# Every warning and suggestion zxcvbn 4.5 (zxcvbn/feedback.py) gives, word for word.
FEEDBACK = {
    "Use a few words, avoid common phrases.": _l("用几个词组成口令，避免常见短语。"),
    "No need for symbols, digits, or uppercase letters.": _l("不必非要符号、数字或大写字母。"),
    "Add another word or two. Uncommon words are better.": _l("再加一两个词，不常见的词更好。"),
    "Straight rows of keys are easy to guess.": _l("键盘上连成一行的按键很容易被猜中。"),
    "Short keyboard patterns are easy to guess.": _l("短的键盘图案很容易被猜中。"),
    "Use a longer keyboard pattern with more turns.": _l("键盘图案要更长、转折更多。"),
    'Repeats like "aaa" are easy to guess.': _l("“aaa”这样的重复很容易被猜中。"),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        _l("“abcabcabc”这样的重复只比“abc”难猜一点点。"),
    "Avoid repeated words and characters.": _l("避免重复的词和字符。"),
    'Sequences like "abc" or "6543" are easy to guess.': _l("“abc”“6543”这样的序列很容易被猜中。"),
    "Avoid sequences.": _l("避免连续序列。"),
    "Recent years are easy to guess.": _l("近几年的年份很容易被猜中。"),
    "Avoid recent years.": _l("避免使用近几年的年份。"),
    "Avoid years that are associated with you.": _l("避免使用与您有关的年份。"),
    "Dates are often easy to guess.": _l("日期往往很容易被猜中。"),
    "Avoid dates and years that are associated with you.": _l("避免使用与您有关的日期和年份。"),
    "This is a top-10 common password.": _l("这是最常用的 10 个密码之一。"),
    "This is a top-100 common password.": _l("这是最常用的 100 个密码之一。"),
    "This is a very common password.": _l("这是非常常见的密码。"),
    "This is similar to a commonly used password.": _l("这与一个常用密码很相似。"),
    "A word by itself is easy to guess.": _l("单独一个词很容易被猜中。"),
    "Names and surnames by themselves are easy to guess.": _l("单独的名字或姓氏很容易被猜中。"),
    "Common names and surnames are easy to guess.": _l("常见的名字和姓氏很容易被猜中。"),
    "Capitalization doesn't help very much.": _l("首字母大写帮助不大。"),
    "All-uppercase is almost as easy to guess as all-lowercase.": _l("全部大写和全部小写差不多一样容易被猜中。"),
    "Reversed words aren't much harder to guess.": _l("把词倒过来写并不会难猜多少。"),
    "Predictable substitutions like '@' instead of 'a' don't help very much.":
        _l("用“@”代替“a”这类可预料的替换帮助不大。"),
}


def translate(message: str) -> str | None:
    """Return the text of a strength problem or hint in the request's language; None for other messages."""
    if message.startswith(FEEDBACK_PREFIX):
        return str(FEEDBACK.get(message.removeprefix(FEEDBACK_PREFIX), OTHER_HINT))
    found = TOO_GUESSABLE.search(message)
    return str(GUESSABLE_TEXT).format(*found.groups()) if found else None
