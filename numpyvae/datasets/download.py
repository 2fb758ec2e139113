"""Download data files from the official mirrors into a folder, verified, written atomically.

A file is written only after its bytes have passed verification (see ``registry``), and it is
written to a temporary name in the same folder and then renamed, so an interrupted or rejected
download never leaves a partial file under the real name.
"""

import contextlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .checksum import check_sha256, md5_hex
from .errors import ChecksumError, DatasetFormatError
from .idx import gunzip_if_gzip, parse_idx
from .registry import MIRRORS

__all__ = ["fetch_url", "verify_download", "download_files"]

_GZIP_MAGIC = b"\x1f\x8b"
_HINT = "not the published file"


def fetch_url(url, timeout=60.0):
    """GET ``url`` (http, https or file) and return the body.

    Parameters
    ----------
    url : str
    timeout : float
        Seconds to wait on each blocking network operation.

    Returns
    -------
    bytes
    """
    request = urllib.request.Request(url, headers={"User-Agent": "numpyvae"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def verify_download(data_file, data, url):
    """Check downloaded bytes against the published checksums; return the name to save them as.

    IDX files: MD5 of the bytes as published when known (Fashion-MNIST), SHA-256 of the
    decompressed content when known (MNIST), and the IDX structure in every case. Other files:
    SHA-256 of the bytes.

    Parameters
    ----------
    data_file : DataFile
    data : bytes
    url : str
        Named in errors.

    Returns
    -------
    name : str
        ``data_file.names[0]`` (``x.gz``), or the raw name when the mirror served decompressed
        IDX bytes.

    Raises
    ------
    DatasetFormatError, ChecksumError
    """
    if data_file.download_md5 is not None:
        found = md5_hex(data)
        if found != data_file.download_md5:
            raise ChecksumError(
                url, f"md5 of the download is {found}, expected {data_file.download_md5}; {_HINT}"
            )
    if data_file.kind != "idx":
        if data_file.sha256 is not None:
            check_sha256(data, data_file.sha256, url, what="download", hint=_HINT)
        return data_file.names[0]
    content = gunzip_if_gzip(data, url)
    if data_file.sha256 is not None:
        check_sha256(content, data_file.sha256, url, what="decompressed IDX content",
                     hint=_HINT)
    parse_idx(content, url)
    return data_file.names[0] if data[:2] == _GZIP_MAGIC else data_file.names[-1]


def _write_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def download_files(spec, roles, dest, *, fetch=None):
    """Download the files of ``roles`` that ``dest`` lacks, trying each mirror in turn.

    Parameters
    ----------
    spec : DataSpec
    roles : tuple of str
    dest : str or os.PathLike
        Folder to save into, created when the first file has passed verification.
    fetch : callable, optional
        ``fetch(url) -> bytes``; defaults to :func:`fetch_url`. A mirror that fails with a
        network error (anything but an HTTP error status) is not tried again for later files.

    Returns
    -------
    files : dict or None
        Role -> saved path, or None when some file could not be obtained.
    notes : list of str
        One line per failed attempt (URL and reason).
    """
    fetch = fetch_url if fetch is None else fetch
    dest = Path(dest)
    notes = []
    unreachable = set()
    files = {}
    for role in roles:
        data_file = spec.files[role]
        existing = [dest / n for n in data_file.names if (dest / n).is_file()]
        if existing:
            files[role] = existing[0]
            continue
        for base in MIRRORS[spec.name]:
            url = base + data_file.names[0]
            if base in unreachable:
                continue
            try:
                data = fetch(url)
            except urllib.error.HTTPError as err:
                notes.append(f"{url}: {err}")
                continue
            except (OSError, ValueError, http.client.HTTPException) as err:
                unreachable.add(base)
                notes.append(f"{url}: {err}")
                continue
            try:
                name = verify_download(data_file, data, url)
            except DatasetFormatError as err:
                notes.append(f"{url}: rejected, {err.problem}")
                continue
            try:
                dest.mkdir(parents=True, exist_ok=True)
                files[role] = _write_atomic(dest / name, data)
            except OSError as err:
                notes.append(f"{url}: downloaded but could not be saved in {dest}: {err}")
                return None, notes
            break
        else:
            return None, notes
    return files, notes
