"""Page languages (界面语言): Chinese by default, English on request, with Flask-Babel.

Chinese is the source language: every template string is Chinese inside `{{ _('…') }}` and every message in
webapp/messages.py is a lazy Chinese string, so with no compiled catalogue at all the UI is Chinese. Only the
English catalogue's `webapp/translations/en/LC_MESSAGES/messages.po` is committed. At app start `init_app`
compiles each `.po` under webapp/translations/ (Babel's `read_po` + `write_mo`, a few milliseconds) into
`<instance>/translations/<lang>/LC_MESSAGES/messages.mo` when the file there differs, written atomically so web
workers and schedulers starting together are safe, and points Flask-Babel at that folder. Editable installs,
wheels and tests work alike: no build hook, no compiled file in git, nothing written into the package.

The locale is `session['lang']` (set by POST /lang), else the `hotline_lang` cookie the same request sets (a
login starts a fresh session, and the choice should survive it), else Chinese, whatever the browser asks for.

Update the catalogue after changing texts::

    pybabel extract -F babel.cfg -o messages.pot .
    pybabel update -i messages.pot -d webapp/translations    # then translate the new entries in the .po
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import has_request_context
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import Babel
from flask_babel import get_locale

from webapp.auth.signin import safe_next

LANGUAGES = {"zh": "中文", "en": "English"}  # code → the language's own name, shown in the switch
HTML_LANG = {"zh": "zh-CN", "en": "en"}
DEFAULT = "zh"
COOKIE = "hotline_lang"
SOURCE = Path(__file__).resolve().parent / "translations"

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Return the language of this request: the session's choice, the cookie's, else Chinese."""
    if not has_request_context():
        return DEFAULT
    for chosen in (session.get("lang"), request.cookies.get(COOKIE)):
        if chosen in LANGUAGES:
            return str(chosen)
    return DEFAULT


def compile_catalogues(source: Path, target: Path) -> list[Path]:
    """Compile every `<lang>/LC_MESSAGES/*.po` under source into target; return the .mo files (re)written."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.is_file() and mo.read_bytes() == buffer.getvalue():
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(buffer.getvalue())
        os.chmod(tmp, 0o644)  # a catalogue, not a secret (mkstemp makes files 0600)
        os.replace(tmp, mo)  # atomic: a process reading the catalogue sees the old file or the new one
        written.append(mo)
    return written


@bp.post("/lang")
def set_language() -> ResponseReturnValue:
    """Switch the page language (中文 / English) and go back to the page the form was on."""
    lang = request.form.get("lang", "")  # CSRFProtect has checked the form's token before this runs
    if lang not in LANGUAGES:
        abort(400)
    session["lang"] = lang
    response = redirect(back_to())
    response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def back_to() -> str:
    """Return the local page the request came from (its Referer on this host), else the home page."""
    referrer = urlsplit(request.referrer or "")
    if referrer.scheme not in ("http", "https") or referrer.netloc != request.host:
        return url_for("home.index")
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


def template_globals() -> dict[str, object]:
    """Give templates the current language, its `<html lang>` value and the languages to switch to."""
    lang = str(get_locale() or DEFAULT)
    return {"current_lang": lang, "html_lang": HTML_LANG.get(lang, lang), "languages": LANGUAGES}


def said(text: object) -> str:
    """Return a field message (a Chinese source text, `不能超过 500 个字` ones too) in the page's language."""
    from webapp.api.problems import said as in_language  # the API's reading of field texts, shared with the pages

    return in_language(str(text)) if text else ""


def init_app(app: Flask) -> None:
    """Compile the catalogues into the instance folder, bind Flask-Babel and add the language switch."""
    compiled = Path(app.instance_path) / "translations"
    compile_catalogues(SOURCE, compiled)
    babel.init_app(app, default_locale=DEFAULT, default_translation_directories=str(compiled),
                   default_timezone="Asia/Shanghai", locale_selector=select_locale)
    app.context_processor(template_globals)
    app.add_template_filter(said, "said")  # {{ error|said }}: form and field messages made in Python
    app.register_blueprint(bp)
