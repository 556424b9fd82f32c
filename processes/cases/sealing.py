"""Attachments sealed at rest (附件加密存储): AES-256-GCM in chunks under a per-file random key.

A sealed file is `MAGIC | key id (16 bytes) | chunk size (4) | token length (2) | token | chunks`. The token is
the file's random data key encrypted with the personal-data key (`PiiCipher.encrypt`, the attachment id bound as
its field name, so a file cannot be passed off as another attachment); the key id says which personal-data key
sealed it. Each chunk of plain text is sealed with the data key and a nonce of its index plus a last-chunk flag
(the STREAM construction), so reordered, cut or extended files fail to open. Files are read one chunk at a time,
sequentially or by seeking (a .docx check reads its zip directory), never whole; rotation re-wraps only the token.
Files without MAGIC are attachments from before sealing and read as they are.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO
from typing import TYPE_CHECKING
from typing import cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from processes.accounts.pii import PiiCipher
from processes.accounts.pii import PiiKeyError
from processes.errors import RuntimeErrorBase

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MAGIC = b"HFSEAL1\n"
CHUNK = 64 * 1024
TAG = 16
_FIXED = struct.Struct(">16sIH")  # key id, chunk size, token length


class AttachmentUnreadable(RuntimeErrorBase):
    """A stored file that cannot be opened: altered, cut, or sealed under a key that is not configured (409)."""

    http_status = 409


def is_sealed(path: Path) -> bool:
    """Return whether a stored file is sealed (else it is a clear file from before sealing)."""
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _field(attachment_id: str) -> str:
    return f"attachment:{attachment_id}"


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class Sealer:
    """Writes plain bytes given in any pieces as a sealed file into an open binary file."""

    def __init__(self, out: IO[bytes], cipher: PiiCipher, attachment_id: str) -> None:
        """Write the header now; chunks follow as data arrives."""
        key = AESGCM.generate_key(bit_length=256)
        raw = (cipher.encrypt(_field(attachment_id), key.hex()) or "").encode("ascii")
        out.write(MAGIC + _FIXED.pack(bytes.fromhex(cipher.key_id()), CHUNK, len(raw)) + raw)
        self._out, self._aead, self._buffer, self._index = out, AESGCM(key), bytearray(), 0

    def write(self, data: bytes) -> None:
        """Take more plain bytes; seal every full chunk that is known not to be the last."""
        self._buffer += data
        while len(self._buffer) > CHUNK:  # strictly more: the last chunk is sealed by close()
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]

    def close(self) -> None:
        """Seal the last chunk (flagged as last)."""
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, plain: bytes, *, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._index, last), plain, None))
        self._index += 1


class SealedReader(io.RawIOBase):
    """A read-only, seekable view of a sealed file's plain bytes, one decrypted chunk at a time."""

    def __init__(self, handle: IO[bytes], cipher: PiiCipher, attachment_id: str) -> None:
        """Read the header and unwrap the data key; raise AttachmentUnreadable when that fails."""
        super().__init__()
        self._handle = handle
        head = handle.read(len(MAGIC) + _FIXED.size)
        if len(head) < len(MAGIC) + _FIXED.size or not head.startswith(MAGIC):
            raise AttachmentUnreadable("not a sealed attachment")
        key_id, chunk, length = _FIXED.unpack(head[len(MAGIC):])
        self.key_id, self._chunk = str(key_id.hex()), int(chunk)
        self.token = handle.read(length)
        if not 0 < self._chunk <= 16 * CHUNK:  # the header is not authenticated: keep reads bounded
            raise AttachmentUnreadable("the attachment's header was altered")
        if self.key_id != cipher.key_id():
            raise AttachmentUnreadable("sealed under another key: run hotline pii reencrypt with the old key")
        try:
            key = bytes.fromhex(cipher.decrypt(_field(attachment_id), self.token.decode("ascii")) or "")
            self._aead = AESGCM(key)
        except (PiiKeyError, ValueError) as exc:  # altered token, or another attachment's file
            raise AttachmentUnreadable("the attachment's seal does not open: altered or misplaced") from exc
        self._start = handle.tell()
        body = os.fstat(handle.fileno()).st_size - self._start
        self._count = -(-body // (self._chunk + TAG))
        self.size = body - TAG * self._count
        if self._count == 0 or body - (self._count - 1) * (self._chunk + TAG) < TAG:
            raise AttachmentUnreadable("the attachment is cut short")
        self._pos, self._cached = 0, (-1, b"")

    @property
    def chunk(self) -> int:
        """Return the chunk size the file was sealed with."""
        return self._chunk

    @property
    def token_end(self) -> int:
        """Return where the chunks start (the header's length)."""
        return self._start

    def readable(self) -> bool:
        """Return True: this view only reads."""
        return True

    def seekable(self) -> bool:
        """Return True: any position can be read (its chunk is decrypted)."""
        return True

    def tell(self) -> int:
        """Return the position in the plain bytes."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move within the plain bytes."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _plain(self, index: int) -> bytes:
        """Return chunk `index` decrypted (the last one kept), raising AttachmentUnreadable if altered."""
        if self._cached[0] != index:
            self._handle.seek(self._start + index * (self._chunk + TAG))
            sealed = self._handle.read(self._chunk + TAG)
            try:
                plain = self._aead.decrypt(_nonce(index, index == self._count - 1), sealed, None)
            except InvalidTag as exc:
                raise AttachmentUnreadable(f"the attachment was altered (chunk {index})") from exc
            self._cached = (index, plain)
        return self._cached[1]

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        """Fill the buffer from the current position (0 at the end)."""
        if self._pos >= self.size:
            return 0
        view = memoryview(buffer).cast("B")
        index, within = divmod(self._pos, self._chunk)
        piece = self._plain(index)[within:within + len(view)]
        view[:len(piece)] = piece
        self._pos += len(piece)
        return len(piece)

    def verify(self) -> None:
        """Decrypt every chunk once (nothing kept), so an altered file is refused before any byte is sent."""
        for index in range(self._count):
            self._plain(index)
        self._cached = (-1, b"")

    def close(self) -> None:
        """Close the underlying file."""
        self._handle.close()
        super().close()


def open_plain(path: Path, attachment_id: str, cipher: PiiCipher) -> tuple[IO[bytes], int]:
    """Open a stored attachment for reading its plain bytes, checked whole first; return it and its size."""
    handle = path.open("rb")
    try:
        if handle.read(len(MAGIC)) != MAGIC:
            handle.seek(0)
            return handle, os.fstat(handle.fileno()).st_size  # a clear file from before sealing
        handle.seek(0)
        reader = SealedReader(handle, cipher, attachment_id)
        reader.verify()
        reader.seek(0)
    except BaseException:
        handle.close()
        raise
    return cast(IO[bytes], reader), reader.size


def _replace(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a new version of `path` beside it and rename it over the old one (readers keep their version)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".seal-")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def seal_clear(path: Path, attachment_id: str, cipher: PiiCipher, *, sha256: str | None = None) -> None:
    """Seal a clear file from before sealing in place (temporary file + rename); with `sha256`, refuse (and leave
    the file as it is) when the clear bytes are not the ones uploaded."""
    def write(out: IO[bytes]) -> None:
        sealer, digest = Sealer(out, cipher, attachment_id), hashlib.sha256()
        with path.open("rb") as source:
            while piece := source.read(CHUNK):
                sealer.write(piece)
                digest.update(piece)
        sealer.close()
        if sha256 is not None and digest.hexdigest() != sha256:
            raise AttachmentUnreadable("the clear file differs from the uploaded one (SHA-256)")
    _replace(path, write)


def rewrap(path: Path, attachment_id: str, new: PiiCipher, old: PiiCipher) -> None:
    """Put a file sealed under `old` under `new`: a new token for the same data key, the chunks copied as they are."""
    with path.open("rb") as handle:
        reader = SealedReader(handle, old, attachment_id)  # checks the key id and that the token opens
        key = old.decrypt(_field(attachment_id), reader.token.decode("ascii")) or ""
        token = (new.encrypt(_field(attachment_id), key) or "").encode("ascii")

        def write(out: IO[bytes]) -> None:
            out.write(MAGIC + _FIXED.pack(bytes.fromhex(new.key_id()), reader.chunk, len(token)) + token)
            handle.seek(reader.token_end)
            while piece := handle.read(1 << 20):
                out.write(piece)
        _replace(path, write)


def key_id_of(path: Path) -> str | None:
    """Return the key id a sealed file names (None for a clear file or a header too short to hold one)."""
    with path.open("rb") as handle:
        head = handle.read(len(MAGIC) + _FIXED.size)
    if not head.startswith(MAGIC) or len(head) < len(MAGIC) + _FIXED.size:
        return None
    return str(_FIXED.unpack(head[len(MAGIC):])[0].hex())
