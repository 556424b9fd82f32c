"""Diagram files as text (图文件编码): the bytes of a .bpmn or .dmn file in any declared encoding, out as text.

Modeling tools do not all save UTF-8: GenMyModel declares ISO-8859-1, some tools windows-1252, Chinese ones
GBK/GB2312/GB18030, Windows editors UTF-8 or UTF-16 with a byte order mark. `decode_diagram` is the one reader
(web upload, `hotline validate`, bundle folders, the XML guard): a BOM first, then the declaration's encoding,
else UTF-8, as the XML specification orders it. The text it returns says UTF-8 in its declaration, so storage,
download and lxml (which reads the declaration again on the UTF-8 bytes) agree with it.
"""

from __future__ import annotations

import codecs
import re

from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.errors import UploadRejected

MAX_XML_BYTES = 5 * 1024 * 1024  # counted as uploaded: a UTF-16 file has half the room of its UTF-8 twin
BOMS = (  # UTF-32 LE first: its mark begins with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
NO_BOM = (  # `<?` without a mark (XML 1.0 appendix F): wide encodings that still say what they are
    (b"<\0\0\0?\0\0\0", "utf-32-le"), (b"\0\0\0<\0\0\0?", "utf-32-be"), (b"<\0?\0", "utf-16-le"),
    (b"\0<\0?", "utf-16-be"),
)
DECLARATION = re.compile(r"\A<\?xml\s[^<>]*?\?>")
ENCODING = re.compile(r"(\sencoding\s*=\s*)([\"'])(.*?)\2", re.S)
NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,39}")  # EncName of the XML grammar (with a sane length)
# Text encodings a modeling tool may declare (Python's names after lookup). Not here on purpose: codecs that are
# no text encoding (rot13, base64, zlib, hex, uu), escape and transfer codecs (unicode_escape, punycode, idna,
# utf-7, hz), stateful ISO-2022 and EBCDIC code pages: none is how a diagram is saved, each can hide markup.
ALLOWED = re.compile(r"utf-(8|16|32)(-le|-be)?|ascii|iso8859-\d{1,2}|cp(125\d|437|85\d|86\d|874|932|949|950)"
                     r"|gb2312|gbk|gb18030|big5(hkscs)?|shift_jis(_2004|x0213)?|euc_(jp|kr|jis_2004|jisx0213)"
                     r"|johab|koi8-[rut]|mac-(roman|cyrillic|greek|latin2|turkish|iceland)|tis-620|ptcp154|kz1048")
WIDER = {"gb2312": "gb18030", "gbk": "gb18030"}  # Chinese tools declare GB2312 or GBK and write GB18030 characters

HINT = N_("请在建模工具中另存为 UTF-8 后重新上传")
UNKNOWN = N_("文件声明的编码 %(encoding)s 无法识别")
MISMATCH = N_("文件内容与声明的编码 %(encoding)s 不符（第 %(line)s 行）")
NOT_UTF8 = N_("文件不是 UTF-8 文本，也没有声明其他编码（第 %(line)s 行有无法识别的字节）")
BOM_MISMATCH = N_("文件内容与开头的字节顺序标记（BOM）表示的编码 %(encoding)s 不符（第 %(line)s 行）")


class EncodingRefused(UploadRejected):
    """A diagram whose bytes cannot be read as text: unknown or hostile encoding, or content that lies about it."""

    def __init__(self, template: str, *, file: str, line: int | None = None, **params: str) -> None:
        self.template, self.params, self.line = template, {**params, "line": str(line or 1)}, line
        super().__init__(f"{template % self.params}，{HINT}", file=file)

    def problem(self, file: str | None = None) -> Problem:
        """Return the refusal as a validation problem (`upload.encoding`) on its line, translatable like every other."""
        return Problem("error", "upload.encoding", self.template, HINT, file=file or self.file or "", line=self.line,
                       params=dict(self.params))


def decode_diagram(raw: bytes, filename: str, *, limit: int = MAX_XML_BYTES) -> str:
    """Return a diagram file's text, its declaration saying UTF-8; refuse oversize or unreadable bytes."""
    if len(raw) > limit:  # before decoding: the limit is on the bytes as uploaded
        raise UploadRejected(f"file is larger than {limit // (1024 * 1024)} MB", file=filename)
    codec, skip, template = _from_marks(raw)
    if codec is None:
        codec, template = _declared(raw, filename)
    try:
        text = raw[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[:skip + exc.start].count(b"\n") + 1  # also right for UTF-16/32: no other byte of a line is 0x0A
        raise EncodingRefused(template, file=filename, line=line, encoding=_label(raw, codec)) from exc
    if template == MISMATCH and not _same_declaration(raw, text):  # the codec does not read ASCII as ASCII
        raise EncodingRefused(MISMATCH, file=filename, line=1, encoding=_label(raw, codec))
    if skip == 0 and codec.startswith(("utf-16", "utf-32")):
        _check_wide_declaration(text, filename)
    return utf8_declaration(text)


def _check_wide_declaration(text: str, filename: str) -> None:
    """Refuse UTF-16/32 without a mark unless its declaration says so (XML 1.0 appendix F requires it)."""
    head = DECLARATION.match(text)
    found = ENCODING.search(head.group()) if head else None
    name = found.group(3) if found else "UTF-8"
    if not name.lower().replace("_", "-").startswith(("utf-16", "utf-32", "utf16", "utf32")):
        raise EncodingRefused(MISMATCH, file=filename, line=1, encoding=name[:40])


def utf8_declaration(text: str) -> str:
    """Return the text with its declared encoding (if any) replaced by UTF-8: the text is decoded already."""
    declaration = DECLARATION.match(text)
    found = ENCODING.search(declaration.group()) if declaration else None
    if declaration is None or found is None or found.group(3).lower() in ("utf-8", "utf8"):
        return text  # UTF-8 files stay byte for byte as they were: same sha256, same version on a second deploy
    fixed = ENCODING.sub(r"\1\2UTF-8\2", declaration.group(), count=1)
    return fixed + text[declaration.end():]


def _from_marks(raw: bytes) -> tuple[str | None, int, str]:
    """Return (codec, bytes to skip, refusal) told by a byte order mark or a wide `<?`, else (None, 0, …)."""
    for mark, codec in BOMS:
        if raw.startswith(mark):
            return codec, len(mark), BOM_MISMATCH
    for start, codec in NO_BOM:
        if raw.startswith(start):
            return codec, 0, MISMATCH
    return None, 0, NOT_UTF8


def _declared_name(raw: bytes) -> str | None:
    """Return the encoding an ASCII-compatible file's declaration names, or None without one."""
    head = DECLARATION.match(raw[:1024].decode("latin-1"))
    found = ENCODING.search(head.group()) if head else None
    return found.group(3) if found else None


def _declared(raw: bytes, filename: str) -> tuple[str, str]:
    """Return (codec, refusal) for a file without a mark: its declared encoding, else UTF-8."""
    name = _declared_name(raw)
    if name is None:
        return "utf-8", NOT_UTF8
    codec = _codec(name)
    if codec is None:
        raise EncodingRefused(UNKNOWN, file=filename, line=1, encoding=name[:40])
    if codec.startswith(("utf-16", "utf-32")):
        # `<?xml` in single bytes although it says UTF-16: the file was written as UTF-8 (libxml2 reads it so)
        return "utf-8", MISMATCH
    return codec, MISMATCH


def _codec(name: str) -> str | None:
    """Return Python's codec for a declared encoding name when it is an allowed text encoding, else None."""
    if not NAME.fullmatch(name):
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return WIDER.get(info.name, info.name) if ALLOWED.fullmatch(info.name) else None


def _label(raw: bytes, codec: str) -> str:
    """Return the encoding as the file names it (its declaration), else the codec read."""
    return (_declared_name(raw) or codec.upper())[:40]


def _same_declaration(raw: bytes, text: str) -> bool:
    """True when the decoded text starts with the declaration read as ASCII (EBCDIC and the like do not)."""
    head = DECLARATION.match(raw[:1024].decode("latin-1"))
    return head is None or text.startswith(head.group())
