"""The files of one upload (上传): a diagram, with the called diagrams, decision tables and forms beside it.

An analyst's process is often more than one file: the main .bpmn, a called process in its own .bpmn, a DMN decision
table for a business rule task, form schemas. The upload form takes them together (at most MAX_FILES, each within the
single-file limit and all within the bundle limit, counted in bytes as uploaded); each is read in the encoding it
declares. Everything else a bundle needs is checked where every bundle is checked (processes.modeling.versions).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from flask import request
from flask_babel import gettext
from werkzeug.datastructures import FileStorage

from processes.engine.bundle import MAX_BUNDLE_BYTES
from processes.engine.xmltext import MAX_XML_BYTES
from processes.engine.xmltext import EncodingRefused
from processes.engine.xmltext import decode_diagram
from processes.modeling import versions
from webapp.modeler import texts

MAX_FILES = 20


@dataclass
class Upload:
    """What an upload holds: its main diagram first, then other files by their names in the bundle."""

    name: str
    text: str
    others: dict[str, str] = field(default_factory=dict)  # further .bpmn and .dmn files
    forms: dict[str, str] = field(default_factory=dict)  # forms/<name>.schema.json

    @property
    def names(self) -> list[str]:
        """Every file name the upload puts into the bundle, the main diagram first."""
        return [self.name, *sorted(self.others), *sorted(self.forms)]


def read_upload(key: str) -> Upload | str:
    """Return the upload's files, or the message that refuses it."""
    chosen = [f for f in request.files.getlist("file") if f.filename]
    if not chosen:
        return str(gettext(texts.NO_FILE))
    if len(chosen) > MAX_FILES:
        return str(gettext(texts.TOO_MANY_FILES, count=MAX_FILES))
    diagrams: list[tuple[str, str]] = []
    upload = Upload("", "")
    total = 0
    for storage in chosen:
        raw = _bytes_of(storage)
        name = (storage.filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if len(raw) > MAX_XML_BYTES:
            return str(gettext(texts.TOO_BIG, mb=MAX_XML_BYTES // (1024 * 1024)))
        total += len(raw)
        if total > MAX_BUNDLE_BYTES:
            return str(gettext(texts.TOO_BIG, mb=MAX_BUNDLE_BYTES // (1024 * 1024)))
        refused = _add(upload, diagrams, name, raw)
        if refused:
            return refused
    if not diagrams:
        return str(gettext(texts.NO_DIAGRAM))
    return _with_main(upload, diagrams, key)


def _bytes_of(storage: FileStorage) -> bytes:
    try:
        return storage.stream.read(MAX_XML_BYTES + 1)
    finally:
        storage.close()  # a large upload is a temporary file: close it now, not at garbage collection


def _add(upload: Upload, diagrams: list[tuple[str, str]], name: str, raw: bytes) -> str | None:
    """Put one file where it belongs; return the message refusing it, if any."""
    lower = name.lower()
    if lower.endswith(".json"):
        stem = name[:-len(".schema.json")] if lower.endswith(".schema.json") else name[:-len(".json")]
        form = f"forms/{stem}.schema.json"
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return str(gettext(texts.FORM_NOT_UTF8, name=name[:100]))
        if not versions.FORM_NAME.fullmatch(form):
            return str(gettext(texts.BAD_FILE_NAME, name=name[:100]))
        upload.forms[form] = text
        return None
    if not lower.endswith((".bpmn", ".xml", ".dmn")):
        return str(gettext(texts.BAD_FILE_TYPE, name=name[:100]))
    try:
        text = decode_diagram(raw, name[:100])  # GBK, ISO-8859-1, UTF-16 …: text whose declaration says UTF-8
    except EncodingRefused as exc:
        problem = exc.problem()
        return str(gettext(texts.BAD_ENCODING, problem=problem.text(gettext), hint=problem.hint_text(gettext)))
    if lower.endswith(".dmn"):
        if not versions.DMN_NAME.fullmatch(name):
            return str(gettext(texts.BAD_FILE_NAME, name=name[:100]))
        upload.others[name] = text
    else:
        diagrams.append((name[: -len(".xml")] + ".bpmn" if lower.endswith(".xml") else name, text))
    return None


def _with_main(upload: Upload, diagrams: list[tuple[str, str]], key: str) -> Upload | str:
    """The main diagram is one that calls others; one diagram may have any name, several keep theirs."""
    if len(diagrams) == 1 and not versions.FILE_NAME.fullmatch(diagrams[0][0]):
        diagrams = [(f"{key}.bpmn", diagrams[0][1])]  # a Chinese or odd file name: the bundle names it after the key
    for name, _ in diagrams:
        if not versions.FILE_NAME.fullmatch(name):
            return str(gettext(texts.BAD_FILE_NAME, name=name[:100]))
    # the main diagram is a caller: browsers list chosen files by name, not in the order a person means
    diagrams.sort(key=lambda pair: "callActivity" not in pair[1])
    (upload.name, upload.text), rest = diagrams[0], diagrams[1:]
    if len({name for name, _ in diagrams}) != len(diagrams):
        return str(gettext(texts.SAME_NAME))
    upload.others.update(rest)
    return upload
