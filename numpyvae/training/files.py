"""Files that are never half-written: a synced temporary file renamed over the target, the folder
synced before and after, and the temporary files of killed writes removed by the next write."""
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text", "remove_orphans", "fsync_dir", "umask"]


def remove_orphans(path):
    """Delete temporary files of earlier writes of ``path`` that were killed before their rename."""
    for orphan in path.parent.glob(path.name + ".*.tmp"):
        try:
            orphan.unlink()
        except OSError:
            pass


def fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write, binary=True):
    """Write ``path`` through ``write(file)`` on a temporary file beside it, then rename it over ``path``.

    The order makes a crash at any point harmless: the data is synced to disk, the folder is synced,
    the rename makes the new file visible at once, and the folder is synced again so the rename
    itself lasts. Temporary files that killed writes of ``path`` left behind are removed first.
    Returns the Path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())                                       # the data is on disk ...
        os.chmod(tmp, 0o666 & ~umask())                                # (mkstemp makes it private)
        fsync_dir(path.parent)
        os.replace(tmp, path)                                          # ... before the name points to it
        fsync_dir(path.parent)                                         # and the rename itself is durable
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8, newlines as given) to ``path`` with :func:`atomic_write`."""
    return atomic_write(path, lambda f: f.write(text), binary=False)


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
