"""Interleaved timing: every candidate runs once per round, so machine noise hits them alike."""

import statistics
import time


def _block(fn, sync, n):
    """Wall and CPU seconds for ``n`` calls of ``fn`` followed by ``sync``."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    sync()
    return time.perf_counter() - wall0, time.process_time() - cpu0


def interleaved(candidates, rounds=7, block_s=0.1, warmup_s=0.2, max_s=None, min_rounds=3):
    """Time several callables in A B C A B C ... rounds.

    Parameters
    ----------
    candidates : dict
        label -> (fn, sync); ``fn()`` does one unit of work, ``sync()`` waits for it.
    rounds : int
        Timed rounds; each candidate runs one block per round.  The order rotates every round.
    block_s : float
        Target duration of one block; the calls per block are set from the warm-up.
    warmup_s : float
        Warm-up time per candidate (at least two calls).
    max_s : float or None
        Stop after the round in which this many seconds have passed (but not before
        ``min_rounds`` rounds): a safeguard for a machine so loaded that steps take 100x longer.

    Returns
    -------
    dict
        label -> {"median", "min", "max": wall seconds per call over the rounds, "cpu_median",
        "cpu_min", "cpu_max": the same in process CPU seconds, "calls": calls per block,
        "rounds": per-round wall seconds per call, "cpu_per_wall": process CPU time over wall
        time across all rounds (about 1 for one busy thread, 2 for two)}.

        On a shared machine a single-threaded process's CPU time per call is close to the wall
        time it would take with its core to itself; wall time includes waiting for the core.
    """
    calls = {}
    for label, (fn, sync) in candidates.items():
        n, spent = 0, 0.0
        while n < 2 or spent < warmup_s:
            spent += _block(fn, sync, 1)[0]
            n += 1
        per_call = spent / n
        calls[label] = max(1, int(block_s / per_call))
    labels = list(candidates)
    per_round = {label: [] for label in labels}
    cpu_round = {label: [] for label in labels}
    wall = {label: 0.0 for label in labels}
    cpu = {label: 0.0 for label in labels}
    start = time.perf_counter()
    for r in range(rounds):
        if max_s is not None and r >= min_rounds and time.perf_counter() - start > max_s:
            break
        shift = r % len(labels)
        for label in labels[shift:] + labels[:shift]:
            fn, sync = candidates[label]
            w, c = _block(fn, sync, calls[label])
            per_round[label].append(w / calls[label])
            cpu_round[label].append(c / calls[label])
            wall[label] += w
            cpu[label] += c
    return {label: {"median": statistics.median(t), "min": min(t), "max": max(t),
                    "cpu_median": statistics.median(cpu_round[label]),
                    "cpu_min": min(cpu_round[label]), "cpu_max": max(cpu_round[label]),
                    "calls": calls[label], "rounds": t,
                    "cpu_per_wall": cpu[label] / wall[label] if wall[label] > 0 else float("nan")}
            for label, t in per_round.items()}
