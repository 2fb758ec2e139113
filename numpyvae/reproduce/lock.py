"""The lock file of a run folder: two tasks never train the same run at once.

The rule (docs/cluster.md says it for users):

- A task trains (or reads) a run only while it holds ``<run folder>/lock``. It takes the lock by
  creating that file with ``O_CREAT | O_EXCL``, which succeeds for one creator only (on a local disk
  and on NFS v3 and later), and writes into it its host name, process id and start times. While it
  holds the lock, a thread renews the file's modification time every ``HEARTBEAT_S`` seconds.
- A lock of a process on this host is *stale* when that process no longer runs (it is gone, or a
  zombie, or its id now belongs to a process started later); while it runs, its lock is held,
  however long ago it was renewed (a stopped process keeps its run). A lock of another host is
  stale when the file has not been renewed for ``STALE_AFTER_S`` seconds (its holder's machine
  died, or lost the shared filesystem). The next task that wants the run breaks a stale lock and
  takes it; the run then resumes from its last checkpoint.
- Any other lock is held: the task waits, looking again every ``POLL_S`` seconds, and then resumes
  the run from whatever the holder left (nothing to do when the holder finished it).

A process on another host cannot be asked whether it still runs, so there only the age rule
applies (as for a lock that cannot be read): a task that lands on a new worker after its first
worker's machine died waits up to ``STALE_AFTER_S`` seconds before it takes the run over. Clocks of
the hosts that share the filesystem should agree to well within that time. Host names must tell
the machines apart.
"""
import json
import os
import socket
import threading
import time
from pathlib import Path

LOCK_NAME = "lock"
HEARTBEAT_S = 30.0
"""Seconds between two renewals of a held lock's modification time."""
STALE_AFTER_S = 600.0
"""A lock not renewed for this long is stale, whoever holds it."""
POLL_S = 2.0
"""Seconds between two looks at a lock held by another task."""
BREAK_GUARD_STALE_S = 60.0
"""A ``lock.break`` guard older than this was left by a task that died while breaking a lock."""


def process_gone(pid):
    """True when no running process of this host has id ``pid`` (none, or a zombie)."""
    try:
        os.kill(pid, 0)                         # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:                     # it exists, and belongs to another user
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"      # a zombie: dead, not yet reaped
    except (OSError, IndexError):
        return False


def process_start(pid):
    """When process ``pid`` started (clock ticks since boot, from /proc), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def stale_reason(path, text):
    """Why the lock at ``path`` whose content is ``text`` is stale, or None while it is held."""
    try:
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return None                                                  # released meanwhile: try again
    try:
        holder = json.loads(text)
    except (TypeError, ValueError):
        holder = {}                                                  # being written, or foreign: the age rule
    pid = holder.get("pid") if isinstance(holder, dict) else None
    if isinstance(holder, dict) and holder.get("host") == socket.gethostname() and isinstance(pid, int) and pid > 0:
        if process_gone(pid):
            return f"its process {pid} on this host is gone"
        started = holder.get("process_start")
        if started is not None and process_start(pid) not in (None, started):
            return f"its process {pid} on this host is gone (the id belongs to a newer process)"
        return None                                                  # it runs: held, however old
    if age > STALE_AFTER_S:
        return f"not renewed for {age:.0f} s"
    return None


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return None


def break_stale(path, text):
    """Remove the lock at ``path`` if it still holds ``text`` and is still stale; returns whether it
    is gone. A ``lock.break`` guard (created like the lock) keeps two tasks from breaking at once,
    so that neither removes the lock the other has just taken."""
    guard = Path(str(path) + ".break")
    try:
        fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            if time.time() - os.stat(guard).st_mtime > BREAK_GUARD_STALE_S:
                os.unlink(guard)
        except FileNotFoundError:
            pass
        return False
    os.close(fd)
    try:
        current = _read(path)
        if current is None:
            return True
        if current == text and stale_reason(path, current):
            os.unlink(path)
            return True
        return False
    finally:
        os.unlink(guard)


class RunLock:
    """Hold ``<folder>/lock`` (a context manager): :meth:`acquire` waits for a held lock and breaks
    a stale one, as the module's rule says; :meth:`release` removes it.

    Parameters
    ----------
    folder : path
        The run folder (created if missing).
    log : callable(str), optional
        Told when the task waits for another holder or breaks a stale lock.
    poll_s : float
        Seconds between two looks at a held lock.
    """

    def __init__(self, folder, log=None, poll_s=POLL_S):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.log = log or (lambda text: None)
        self.poll_s = poll_s
        self.text = None
        self._stop = None
        self._renewer = None

    def acquire(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                           "process_start": process_start(os.getpid()),
                           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        waiting_for = None
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = _read(self.path)
                reason = None if held is None else stale_reason(self.path, held)
                if reason is not None:
                    self.log(f"breaking the stale lock {self.path} ({reason}): {held}")
                    if break_stale(self.path, held):
                        continue
                elif held is not None and held != waiting_for:
                    self.log(f"waiting for {self.path}, held by {held}")
                    waiting_for = held
                time.sleep(self.poll_s)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            break
        self.text = text
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name=f"renew {self.path}", daemon=True)
        self._renewer.start()
        return self

    def _renew(self):
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                pass

    def release(self):
        if self.text is None:
            return
        self._stop.set()
        self._renewer.join()
        if _read(self.path) == self.text:          # never remove a lock that another task took
            os.unlink(self.path)
        self.text = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
