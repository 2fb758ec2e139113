"""Checksums of data files: compute and compare."""

import hashlib

from .errors import ChecksumError

__all__ = ["sha256_hex", "md5_hex", "check_sha256"]


def sha256_hex(data):
    """Hex SHA-256 digest of a bytes-like object."""
    return hashlib.sha256(data).hexdigest()


def md5_hex(data):
    """Hex MD5 digest of a bytes-like object (used only to identify published files)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


_FILE_HINT = (
    "the file is corrupt or is not the published one (delete it and obtain it again, or pass "
    "verify=False to load it anyway)"
)


def check_sha256(data, expected, path, what="content", hint=_FILE_HINT):
    """Raise :class:`ChecksumError` naming ``path`` unless ``sha256(data) == expected``.

    Parameters
    ----------
    data : bytes-like
        The bytes to hash (for IDX files: the decompressed content).
    expected : str
        Published hex digest.
    path : str or os.PathLike
        File the bytes came from, named in the error.
    what : str
        Which bytes were hashed, for the message (e.g. ``"decompressed content"``).
    hint : str
        What to do about a mismatch, appended to the message.
    """
    found = sha256_hex(data)
    if found != expected.lower():
        raise ChecksumError(
            path,
            f"sha256 of the {what} is {found}, expected {expected}; {hint}",
        )
