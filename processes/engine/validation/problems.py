"""Validation problems (校验问题): what is wrong where, and what to do about it, in Chinese with English available.

The texts are Chinese source strings marked with `N_` (extraction only: `processes` never imports Flask); the web
layer and `hotline validate --lang en` translate them with the catalogue in webapp/translations/en. Parameters use
`%(name)s`, so a translated text keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Literal

from lxml import etree

Severity = Literal["error", "warning"]
Translate = Callable[[str], str]


def N_(text: str) -> str:
    """Mark a text for extraction only; whoever shows it translates it."""
    return text


SEVERITY_WORDS: dict[str, str] = {"error": N_("错误"), "warning": N_("警告")}


def untranslated(text: str) -> str:
    """Return the Chinese source text unchanged (the default language)."""
    return text


@dataclass(frozen=True)
class Problem:
    """One finding: an error (the diagram cannot run) or a warning (it can run, but …)."""

    severity: Severity
    code: str
    message: str  # a marked template with %(name)s parameters
    hint: str  # what to do about it, also a marked template
    file: str = ""
    line: int | None = None
    element_id: str = ""
    element_name: str = ""
    params: dict[str, str] = field(default_factory=dict)
    terms: frozenset[str] = frozenset()  # parameters that are themselves marked texts, translated too

    def text(self, translate: Translate = untranslated) -> str:
        """Return what is wrong, in the language of `translate`."""
        return _fill(translate(self.message), self._params(translate))

    def hint_text(self, translate: Translate = untranslated) -> str:
        """Return what to do about it, in the language of `translate`."""
        return _fill(translate(self.hint), self._params(translate))

    def _params(self, translate: Translate) -> dict[str, str]:
        return {k: translate(v) if k in self.terms else v for k, v in self.params.items()}

    def where(self) -> str:
        """Return `file:line` (or just the file, or the bundle)."""
        return f"{self.file or '-'}:{self.line}" if self.line else (self.file or "-")

    def one_line(self, translate: Translate = untranslated) -> str:
        """Return `file:line: 错误 [id 名称] message — what to do`."""
        element = " ".join(p for p in (self.element_id, self.element_name) if p)
        label = f" [{element}]" if element else ""
        return (f"{self.where()}: {translate(SEVERITY_WORDS[self.severity])}{label} "
                f"{self.text(translate)} — {self.hint_text(translate)}")

    def as_dict(self, translate: Translate = untranslated) -> dict[str, object]:
        """Return the problem as JSON-able data (for the modeler's markers next to elements)."""
        return {"severity": self.severity, "code": self.code, "file": self.file, "line": self.line,
                "element_id": self.element_id, "element_name": self.element_name,
                "message": self.text(translate), "hint": self.hint_text(translate)}


def _fill(template: str, params: dict[str, str]) -> str:
    try:
        return template % params if params else template
    except (KeyError, ValueError, TypeError):
        return template  # a translation that lost a parameter still says something whole


def at(element: etree._Element | None, severity: Severity, code: str, message: str, hint: str, *, file: str,
       terms: tuple[str, ...] = (), **params: object) -> Problem:
    """Build a problem about one XML element: its id, name and source line are taken from it.

    `terms` names the parameters that are marked texts themselves (translated with the message).
    """
    text = {k: _short(v) for k, v in params.items()}
    if element is None:
        return Problem(severity, code, message, hint, file=file, params=text, terms=frozenset(terms))
    line = element.sourceline if isinstance(element.sourceline, int) else None
    return Problem(severity, code, message, hint, file=file, line=line, element_id=_short(element.get("id") or "", 80),
                   element_name=_short(element.get("name") or "", 60), params=text, terms=frozenset(terms))


def _short(value: object, limit: int = 200) -> str:
    """Return a parameter as one short line (names and ids come from uploads)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_name(element: etree._Element) -> str:
    """Return the tag without its namespace (`userTask`)."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""
