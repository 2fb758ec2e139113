"""A one-line progress display for training; it prints nothing per step when not on a terminal.

On a terminal the line is redrawn in place (at most ten times a second) with the epoch, the share
of the epoch done, the throughput, the running loss (the mean minibatch training loss since the
last evaluation), the time elapsed and an estimate of the time left (the samples still to train at
the current throughput; evaluations not counted). Evaluation results are ordinary lines everywhere,
so a CI log gets one line per evaluation and nothing else.

Those lines are library messages: they go to the ``logging`` logger ``numpyvae.training`` at level
INFO (the command line prints that logger on stdout), unless a stream is given for them. While
logging is not set up at all, they are written on stderr instead, so ``Trainer(progress=True)`` and
``Estimator(verbose=True)`` show something in a plain script.
"""
import logging
import math
import sys
import time

__all__ = ["Progress", "format_duration", "LOGGER"]

LOGGER = logging.getLogger("numpyvae.training")
"""Where the Trainer's lines go (evaluation results, interruption notes), at level INFO."""


def _handled(logger):
    """Whether a record of ``logger`` reaches a real handler (a NullHandler does not count)."""
    while logger is not None:
        if any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


def format_duration(seconds):
    """``"42 s"``, ``"3:07"`` (minutes:seconds) or ``"1:02:03"`` (hours:minutes:seconds)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Progress display.

    Parameters
    ----------
    stream : file, optional
        Where the live line is drawn (default ``sys.stderr``) and, without a ``logger``, where the
        messages are written.
    enabled : bool
        False prints nothing at all.
    live : bool or None
        Redraw a live line; None: only when ``stream`` is a terminal.
    min_interval : float
        Seconds between two redraws.
    logger : logging.Logger, optional
        Where the messages go (at level INFO). Default: :data:`LOGGER` when no ``stream`` is given
        (on stderr while logging is not set up), else the stream itself.
    """

    def __init__(self, stream=None, enabled=True, live=None, min_interval=0.1, logger=None):
        self.logger = logger if logger is not None or stream is not None else LOGGER
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(enabled)
        if live is None:
            isatty = getattr(self.stream, "isatty", None)
            live = bool(isatty and isatty())
        self.live = self.enabled and live
        self.min_interval = float(min_interval)
        self._last = 0.0
        self._width = 0

    def update(self, epoch, done, total, rate, running_loss, elapsed=None, remaining=None):
        """Redraw the live line (no-op unless live, and at most every ``min_interval`` seconds).

        ``done`` of ``total`` minibatches of the epoch, ``rate`` in samples per second,
        ``running_loss`` the mean minibatch loss since the last evaluation, ``elapsed`` seconds of
        training so far and ``remaining`` training samples still to go (None: no budget known, so no
        estimate of the time left).
        """
        if not self.live:
            return
        now = time.perf_counter()
        if now - self._last < self.min_interval and done < total:
            return
        self._last = now
        frac = done / total if total else 1.0
        filled = int(20 * frac)
        bar = "#" * filled + "." * (20 - filled)
        text = (f"epoch {epoch} [{bar}] {100 * frac:5.1f}%  {rate:,.0f} samples/s  "
                f"loss {running_loss:.2f}")
        if elapsed is not None:
            text += f"  elapsed {format_duration(elapsed)}"
        if remaining is not None:
            text += f"  ETA {format_duration(remaining / rate if rate > 0 else None)}"
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + pad)
        self.stream.flush()

    def message(self, text):
        """Log a line, or write it on the stream (clearing a live line first)."""
        if not self.enabled:
            return
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
        if self.logger is not None and _handled(self.logger):
            self.logger.info(text)
            return
        self.stream.write(text + "\n")
        self.stream.flush()
