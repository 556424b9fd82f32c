"""Personal data at rest (个人信息保护): AES-256-GCM encryption, a keyed blind index for phone lookup, masking.

Requester name, phone, ID number and address are stored as `v1:<base64(nonce | ciphertext)>`, the field name bound
as associated data so a value cannot be moved to another column. Exact phone search uses HMAC-SHA256 of the
normalised number under a key derived from the same secret, plus the last four digits for partial lookups. The key
comes from configuration (PII_ENCRYPTION_KEY, 32 bytes hex), never from the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"
NONCE_BYTES = 12
# A fixed, public key for development and tests only; production refuses to start without a real one.
DEVELOPMENT_KEY = hashlib.sha256(b"hotline-flow development PII key - not secret").hexdigest()
NOT_DIGITS = re.compile(r"\D")


class PiiKeyError(ValueError):
    """The configured key is missing or malformed, or a value was encrypted under another key."""


@dataclass(frozen=True)
class PiiCipher:
    """Encrypts and decrypts personal fields and computes their blind index."""

    key: bytes

    @classmethod
    def from_hex(cls, text: str) -> PiiCipher:
        """Build from a 64-character hex key."""
        try:
            key = bytes.fromhex(text)
        except ValueError as exc:
            raise PiiKeyError("PII_ENCRYPTION_KEY must be 64 hex characters (32 bytes)") from exc
        if len(key) != 32:
            raise PiiKeyError("PII_ENCRYPTION_KEY must be 64 hex characters (32 bytes)")
        return cls(key)

    def _subkey(self, purpose: bytes) -> bytes:
        # separate keys per purpose: the blind index must not be usable to decrypt, nor the reverse
        return hmac.new(self.key, b"hotline-flow/" + purpose, hashlib.sha256).digest()

    def encrypt(self, field: str, value: str | None) -> str | None:
        """Encrypt one field value (None stays None)."""
        if value is None:
            return None
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._subkey(b"encrypt")).encrypt(nonce, value.encode("utf-8"), field.encode("ascii"))
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, field: str, stored: str | None) -> str | None:
        """Decrypt one stored value; rows written before encryption (no prefix) read as they are."""
        if stored is None or not stored.startswith(PREFIX):
            return stored
        raw = base64.b64decode(stored[len(PREFIX):])
        try:
            plain = AESGCM(self._subkey(b"encrypt")).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                                             field.encode("ascii"))
        except InvalidTag as exc:
            raise PiiKeyError(f"{field}: cannot decrypt (wrong key or altered value)") from exc
        return plain.decode("utf-8")

    def key_id(self) -> str:
        """Return a short public name of the key (an HMAC of a constant): says which key, reveals nothing of it."""
        return self._subkey(b"key-id").hex()[:32]

    def phone_index(self, phone: str | None) -> str | None:
        """Keyed blind index of a phone number (digits only, +86 dropped) for exact lookup."""
        digits = normalise_phone(phone)
        if not digits:
            return None
        return hmac.new(self._subkey(b"phone-index"), digits.encode("ascii"), hashlib.sha256).hexdigest()


def is_encrypted(stored: str | None) -> bool:
    """Return whether a stored value is ciphertext of this format (plain rows from before encryption are not)."""
    return stored is not None and stored.startswith(PREFIX)


def normalise_phone(phone: str | None) -> str:
    """Digits of a phone number without the country code (full-width digits count)."""
    digits = NOT_DIGITS.sub("", unicodedata.normalize("NFKC", phone or ""))
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def last4(phone: str | None) -> str | None:
    """The last four digits, kept in clear for partial lookups (尾号)."""
    digits = normalise_phone(phone)
    return digits[-4:] if len(digits) >= 4 else None


def mask_phone(phone: str | None) -> str:
    """138****1234: the first three and last four digits."""
    digits = normalise_phone(phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(number: str | None) -> str:
    """110***********123X: the first three and last four characters."""
    text = (number or "").strip()
    return text[:3] + "*" * (len(text) - 7) + text[-4:] if len(text) > 7 else "*" * len(text)


def mask_name(name: str | None) -> str:
    """张*: the first character only."""
    text = (name or "").strip()
    return text[:1] + "*" * min(len(text) - 1, 3) if text else ""


def mask_address(address: str | None) -> str:
    """The first six characters (district, street) and the rest hidden."""
    text = (address or "").strip()
    return text[:6] + "****" if len(text) > 6 else "****" if text else ""


_cipher: PiiCipher | None = None
_refuse: str | None = None  # set when production runs without a key: every use of personal data fails clearly
_warned = False


def configure(key_hex: str | None, *, production: bool, allow_development: bool = True) -> None:
    """Set the process-wide cipher from configuration; without a key, personal data is refused in production and
    wherever the development key is not allowed (the web app allows it to tests only: issue 16)."""
    global _cipher, _refuse, _warned
    _cipher, _refuse, _warned = None, None, False
    if key_hex:
        _cipher = PiiCipher.from_hex(key_hex)
    elif production:
        _refuse = "PII_ENCRYPTION_KEY is required in production (hotline init writes one)"
    elif not allow_development:
        _refuse = ("PII_ENCRYPTION_KEY is not set: run `hotline init` (`hotline demo` writes one too); the public "
                   "development key is for tests only (HOTLINE_ALLOW_DEV_KEYS=1)")


def cipher() -> PiiCipher:
    """The configured cipher (the public development key outside production when none is configured)."""
    global _warned
    if _refuse:
        raise PiiKeyError(_refuse)
    if _cipher is not None:
        return _cipher
    if not _warned:  # said when personal data is first touched, not at start: `hotline --help` stays clean
        _warned = True
        logging.getLogger(__name__).warning("PII_ENCRYPTION_KEY not set: using the public development key")
    return PiiCipher.from_hex(DEVELOPMENT_KEY)
