"""Dashboard passwords, stored as `scrypt$n$r$p$salt$hash` (salt and hash in URL-safe base64)
and checked in constant time. Only the standard library; the parameters travel with each hash,
so stronger ones can be adopted without breaking old hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

SCHEME = "scrypt"
DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**15, 8, 1  # 32 MiB and ~0.1 s per check
MAX_N, MAX_R, MAX_P = 2**20, 32, 16  # a hash asking for more is refused, not computed
SALT_BYTES, HASH_BYTES = 16, 32


class BadPasswordHash(ValueError):
    """A stored hash that is not `scrypt$n$r$p$salt$hash` with usable parameters."""


@dataclass(frozen=True)
class PasswordHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def __str__(self) -> str:
        return "$".join((SCHEME, str(self.n), str(self.r), str(self.p), _b64(self.salt),
                         _b64(self.digest)))


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R,
                  p: int = DEFAULT_P) -> str:
    """A new hash of `password` with a random salt."""
    salt = os.urandom(SALT_BYTES)
    return str(PasswordHash(n, r, p, salt, _scrypt(password, salt, n, r, p)))


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from (constant-time comparison)."""
    known = parse_password_hash(stored)
    given = _scrypt(password, known.salt, known.n, known.r, known.p, len(known.digest))
    return hmac.compare_digest(given, known.digest)


def parse_password_hash(stored: str) -> PasswordHash:
    """The parts of a stored hash; BadPasswordHash saying what is wrong otherwise."""
    parts = stored.strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise BadPasswordHash("expected scrypt$n$r$p$salt$hash, as printed by "
                              "`nurture dashboard hash-password`")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError as exc:
        raise BadPasswordHash("n, r and p must be numbers and salt and hash base64") from exc
    if n < 2 or n > MAX_N or n & (n - 1) or not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
        raise BadPasswordHash(f"n must be a power of 2 up to {MAX_N}, r 1-{MAX_R} and "
                              f"p 1-{MAX_P}")
    if len(salt) < 8 or len(digest) < 16:
        raise BadPasswordHash("the salt or the hash is too short")
    return PasswordHash(n, r, p, salt, digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int,
            length: int = HASH_BYTES) -> bytes:
    memory = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=memory,
                          dklen=length)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or set(text) - set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
        raise ValueError("not URL-safe base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
