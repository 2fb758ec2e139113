"""Reader for the IDX file format of MNIST and Fashion-MNIST (gzip-compressed or raw).

IDX layout (all integers big-endian)::

    bytes 0-1    0x00 0x00
    byte  2      element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                 0x0D float32, 0x0E float64
    byte  3      number of dimensions n
    next 4*n     the size of each dimension, uint32
    rest         the elements, row-major, exactly prod(sizes) * itemsize bytes

The magic number is the first four bytes read as one uint32, so an MNIST image file
(uint8, 3 dimensions) starts with 0x00000803 and a label file with 0x00000801.
"""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .checksum import check_sha256
from .errors import DatasetFormatError

__all__ = [
    "IDX_DTYPES", "idx_magic", "array_magic", "decompressed_bytes", "gunzip_if_gzip",
    "parse_idx", "read_idx",
]

IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def idx_magic(type_code, ndim):
    """The IDX magic number for an element type code and a number of dimensions."""
    return (type_code << 8) | ndim


def array_magic(array):
    """The IDX magic number of the file an array returned by :func:`parse_idx` came from."""
    dtype = np.dtype(array.dtype).newbyteorder("=")
    codes = [c for c, d in IDX_DTYPES.items() if d.newbyteorder("=") == dtype]
    if not codes:
        raise ValueError(f"dtype {array.dtype} has no IDX type code")
    return idx_magic(codes[0], array.ndim)


def decompressed_bytes(path):
    """Read a file and return its content, gunzipped if it is gzip data.

    Whether to decompress is decided from the content (gzip magic bytes ``1f 8b``), not from
    the name, so a raw IDX file that kept its ``.gz`` name is read as well.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    data : bytes

    Raises
    ------
    DatasetFormatError
        Corrupt or truncated gzip data, or a ``.gz`` file that is neither gzip nor IDX.
    """
    path = Path(path)
    return gunzip_if_gzip(path.read_bytes(), path)


def gunzip_if_gzip(raw, path):
    """Decompress ``raw`` if it starts with the gzip magic bytes, else return it unchanged.

    Parameters
    ----------
    raw : bytes
    path : str or os.PathLike
        Where the bytes came from (a file or a URL), named in errors; a name ending in ``.gz``
        whose bytes are neither gzip nor IDX is an error.

    Returns
    -------
    data : bytes
    """
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DatasetFormatError(
                path,
                f"corrupt or truncated gzip data ({err}); the file is damaged or was cut "
                "short, delete it and obtain it again",
            ) from None
    if str(path).endswith(".gz") and raw[:2] != b"\x00\x00":
        raise DatasetFormatError(
            path,
            f"named .gz but is neither gzip-compressed (no 1f 8b header) nor a raw IDX file "
            f"(first bytes: {raw[:4].hex(' ') or 'none, the file is empty'})",
        )
    return raw


def parse_idx(data, path="<bytes>"):
    """Parse the bytes of an IDX file, validating the header and the exact length.

    Parameters
    ----------
    data : bytes
        Uncompressed IDX content.
    path : str or os.PathLike
        Name used in error messages.

    Returns
    -------
    array : numpy.ndarray, read-only, native byte order
        Shape given by the header, dtype given by the type code.

    Raises
    ------
    DatasetFormatError
        Bad magic number, unknown type code, no dimensions, truncated header or data, or
        trailing bytes after the data.
    """
    if len(data) < 4:
        raise DatasetFormatError(
            path, f"truncated: {len(data)} bytes, too short for the 4-byte IDX magic number"
        )
    (magic,) = struct.unpack(">I", data[:4])
    zero, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zero != 0:
        raise DatasetFormatError(
            path,
            f"not an IDX file: magic number 0x{magic:08X} does not start with two zero bytes",
        )
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DatasetFormatError(
            path, f"magic number 0x{magic:08X} has unknown IDX type code 0x{type_code:02X} "
            f"(known: {known})"
        )
    if ndim == 0:
        raise DatasetFormatError(path, f"magic number 0x{magic:08X} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetFormatError(
            path,
            f"truncated header: {ndim} dimensions need {header} header bytes, found {len(data)}",
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        shape = " x ".join(map(str, dims))
        kind = "truncated" if found < expected else "trailing bytes"
        raise DatasetFormatError(
            path,
            f"{kind}: the header declares {shape} {dtype.name} = {expected} data bytes "
            f"({header + expected} bytes in all), found {found} data bytes "
            f"({len(data)} in all)",
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
        array.flags.writeable = False
    return array


def read_idx(path, *, sha256=None):
    """Read an IDX file (gzip-compressed or raw) into an array.

    Parameters
    ----------
    path : str or os.PathLike
    sha256 : str, optional
        Expected SHA-256 of the *decompressed* IDX bytes; a mismatch raises
        :class:`~numpyvae.datasets.ChecksumError`. It is checked after the structure, so that a
        truncated file or a bad header is reported as such, not as a checksum mismatch.

    Returns
    -------
    array : numpy.ndarray, read-only
        Shape and dtype from the header, native byte order.
    """
    data = decompressed_bytes(path)
    array = parse_idx(data, path)
    if sha256 is not None:
        check_sha256(data, sha256, path, what="decompressed IDX content")
    return array
