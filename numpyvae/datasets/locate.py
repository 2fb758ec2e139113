"""Where data files are looked for, in order, and the error raised when they are nowhere.

An explicit ``data_dir`` argument (``--data-dir`` on the command line) is a pin: the files are
looked for there and nowhere else, and a folder that lacks them is an error saying so
(:func:`pinned_error`), never a silent fallback to another copy. Without one, the lookup order is
(the first folder holding *all* the files a split needs wins):

1. the environment variable ``NUMPYVAE_DATA``;
2. the user cache folder, ``$XDG_CACHE_HOME/numpyvae`` or ``~/.cache/numpyvae``;
3. (done by the loader, not here) a download from the official mirrors into the cache.

In each of these folders the files may sit in a subfolder named after the data set
(``<dir>/mnist/train-images-idx3-ubyte.gz``) or directly in the folder; subfolders are tried
first, so one folder can hold MNIST and Fashion-MNIST side by side.
"""

import os
from pathlib import Path

from .errors import DatasetNotFoundError

__all__ = [
    "ENV_VAR", "cache_dir", "search_roots", "find_in_folder", "locate_files", "not_found_error",
    "pinned_error",
]

ENV_VAR = "NUMPYVAE_DATA"


def cache_dir():
    """The user cache folder of numpyvae.

    ``$XDG_CACHE_HOME/numpyvae`` when ``XDG_CACHE_HOME`` is set to an absolute path (as the XDG
    base-directory specification asks), else ``~/.cache/numpyvae``. Not created here.

    Returns
    -------
    pathlib.Path
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "numpyvae"


def search_roots(data_dir=None):
    """The data folders searched, in order, each with where it came from.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Explicit folder; it must exist, and it is then the only one searched.

    Returns
    -------
    list of (pathlib.Path, str)

    Raises
    ------
    NotADirectoryError
        ``data_dir`` is given but is not an existing folder.
    """
    roots = []
    if data_dir is not None:
        folder = Path(data_dir).expanduser().absolute()
        if not folder.is_dir():
            raise NotADirectoryError(
                f"data_dir {folder} (--data-dir) does not exist or is not a folder"
            )
        return [(folder, "data_dir argument / --data-dir")]                  # a pin: no other folder
    env = os.environ.get(ENV_VAR, "")
    if env:
        roots.append((Path(env).expanduser().absolute(), f"environment variable {ENV_VAR}"))
    roots.append((cache_dir(), "user cache"))
    return roots


def _find_file(folder, data_file):
    """The first accepted name of ``data_file`` present in ``folder``, or None."""
    for name in data_file.names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _describe(data_file):
    """``train-images-idx3-ubyte[.gz]`` for an IDX file, the name itself otherwise."""
    names = data_file.names
    if len(names) == 2 and names[0] == names[1] + ".gz":
        return names[1] + "[.gz]"
    return " or ".join(names)


def find_in_folder(folder, spec, roles):
    """Look for the files of ``roles`` in one folder.

    Returns
    -------
    files : dict or None
        Role -> path when every file is present, else None.
    status : str
        What was found, for error messages.
    """
    if not folder.is_dir():
        return None, "no such folder"
    found = {role: _find_file(folder, spec.files[role]) for role in roles}
    missing = [_describe(spec.files[r]) for r, p in found.items() if p is None]
    if not missing:
        return found, "complete"
    present = [p.name for p in found.values() if p is not None]
    status = "missing " + ", ".join(missing)
    if present:
        status = "has " + ", ".join(present) + "; " + status
    return None, status


def locate_files(spec, roles, data_dir=None):
    """Find the files a split needs, following the lookup order of this module.

    Parameters
    ----------
    spec : DataSpec
    roles : tuple of str
        File roles needed (e.g. ``("train_images", "train_labels")``).
    data_dir : str or os.PathLike, optional

    Returns
    -------
    files : dict or None
        Role -> path, all from one folder; None when no folder holds them all.
    looked : list of str
        One line per existing folder searched (and per missing data folder), with its
        origin and what it held.
    """
    looked = []
    for root, origin in search_roots(data_dir):
        if not root.is_dir():
            looked.append(f"{root}  ({origin}: no such folder)")
            continue
        for folder in [root / sub for sub in spec.subfolders] + [root]:
            files, status = find_in_folder(folder, spec, roles)
            if files is not None:
                return files, looked
            if folder == root or folder.is_dir():       # absent subfolders are not listed
                looked.append(f"{folder}  ({origin}: {status})")
    return None, looked


def pinned_error(spec, roles, looked, data_dir):
    """The error for an explicit ``data_dir`` that lacks the files of a split.

    Parameters
    ----------
    spec : DataSpec
    roles : tuple of str
    looked : list of str
        From :func:`locate_files` (the folder and its data-set subfolders, with what each held).
    data_dir : str or os.PathLike

    Returns
    -------
    DatasetNotFoundError
    """
    wanted = ", ".join(_describe(spec.files[r]) for r in roles)
    folder = Path(data_dir).expanduser().absolute()
    lines = [f"the data folder given as data_dir (--data-dir), {folder}, lacks the {spec.title} files: {wanted}.",
             "Looked in:"]
    lines += [f"  - {line}" for line in looked]
    lines.append(
        f"A folder given explicitly is the only one used (not ${ENV_VAR}, the cache or a download): put the "
        f"files there, directly or in a subfolder '{spec.subfolders[0]}/', or leave out --data-dir (data_dir=) "
        f"to search ${ENV_VAR} and {cache_dir()} and download."
    )
    return DatasetNotFoundError("\n".join(lines))


def not_found_error(spec, roles, looked, download_notes):
    """The one error raised when a data set's files are nowhere and could not be downloaded.

    Parameters
    ----------
    spec : DataSpec
    roles : tuple of str
    looked : list of str
        From :func:`locate_files`.
    download_notes : list of str
        One line per download attempted (URL and why it failed), or why none was tried.

    Returns
    -------
    DatasetNotFoundError
    """
    wanted = ", ".join(_describe(spec.files[r]) for r in roles)
    subfolders = ", ".join(f"'{s}/'" for s in spec.subfolders)
    lines = [f"{spec.title} files not found: {wanted}.", "Looked in:"]
    lines += [f"  - {line}" for line in looked]
    lines.append(f"(and their subfolders named {subfolders}, where present)")
    lines.append("Download:")
    lines += [f"  - {note}" for note in download_notes]
    lines.append(
        "Supply the files with --data-dir DIR (data_dir=DIR in Python) or the environment "
        f"variable {ENV_VAR}=DIR, where DIR holds them directly or in a subfolder "
        f"'{spec.subfolders[0]}/', or place them in {cache_dir() / spec.subfolders[0]}."
    )
    return DatasetNotFoundError("\n".join(lines))
