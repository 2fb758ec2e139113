r"""A resumable training loop measured in training samples, shared by every method.

``TrainingRun`` feeds minibatches of M points (a fresh random permutation each epoch) to an
algorithm's ``step`` until ``budget`` samples have been used, evaluates at fixed sample counts
(a log-spaced grid that does not depend on the budget, plus the budget itself), and checkpoints
after every evaluation and every ``checkpoint_every`` seconds. Re-running the same command picks
up the checkpoint and continues: the parameters, optimizer slots, algorithm state, position in
the epoch, random generator and the records so far are all restored, so an interrupted run and an
uninterrupted one produce the same numbers. A larger ``budget`` extends a finished run.

Files in ``directory``: ``checkpoint.npz`` (arrays), ``checkpoint.json`` (counters, generator
state, configuration, records), ``log.csv`` (one row per evaluation).
"""
import csv
import json
import math
import os
import time
from pathlib import Path

import numpy as np


_NOT_CHECKED = ("budget", "eval_points")     # may change between a run and its resumption


def eval_grid(batch_size, budget, per_decade=6):
    """Sample counts 10^(k / per_decade) between 10 minibatches and ``budget``, plus ``budget``."""
    lo = 10 * batch_size
    ks = range(math.ceil(per_decade * math.log10(lo)), math.floor(per_decade * math.log10(budget)) + 1)
    pts = {int(round(10 ** (k / per_decade))) for k in ks}
    pts = {p for p in pts if lo <= p < budget}
    return sorted(pts | {int(budget)})


def _atomic_write(path, write):
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


class TrainingRun:
    """Train ``algorithm`` on ``x_train`` for ``budget`` samples, evaluating and checkpointing.

    Parameters
    ----------
    algorithm : object
        ``model``, ``optimizer``, ``step(x, rng, index)``; optional ``state_arrays`` /
        ``load_state_arrays`` (see :mod:`numpyvae.reproduce.algorithms`).
    x_train : ndarray (N, D)
    evaluate : callable
        ``evaluate(algorithm, samples) -> dict`` of floats, e.g. the bound on train and test sets;
        it must draw its own randomness from a generator seeded by ``samples`` so that a resumed
        run evaluates identically.
    budget : int
        Training samples to use in total.
    directory : str or Path
    batch_size : int
        M (100 in K&W).
    seed : int
        Seeds the training generator (minibatch order and noise).
    config : dict
        Settings that must not change on resume (checked; ``budget`` may grow).
    eval_at : list of int, optional
        Sample counts to evaluate at; default :func:`eval_grid`.
    checkpoint_every : float
        Seconds between checkpoints between evaluations.
    binarize_epoch : callable, optional
        ``binarize_epoch(x, rng) -> x`` applied at each new epoch (dynamic binarisation).
    log : callable, optional
        Receives progress lines.
    """

    def __init__(self, algorithm, x_train, evaluate, budget, directory, batch_size=100, seed=0, config=None,
                 eval_at=None, checkpoint_every=120.0, binarize_epoch=None, log=print):
        self.algorithm = algorithm
        self.x_train = x_train
        self.evaluate = evaluate
        self.budget = int(budget)
        self.directory = Path(directory)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.config = dict(config or {})
        self.eval_at = eval_grid(self.batch_size, self.budget) if eval_at is None else sorted(int(e) for e in eval_at)
        self.checkpoint_every = float(checkpoint_every)
        self.binarize_epoch = binarize_epoch
        self.log = log or (lambda *_: None)
        if self.budget < self.batch_size:
            raise ValueError(f"budget ({self.budget}) must be at least one minibatch ({self.batch_size})")

    # ------------------------------------------------------------------ checkpoint
    @property
    def npz_path(self):
        return self.directory / "checkpoint.npz"

    @property
    def json_path(self):
        return self.directory / "checkpoint.json"

    def _save(self):
        model = self.algorithm.model
        arrays = {f"param/{k}": model.backend.to_numpy(v) for k, v in model.params.items()}
        opt = self.algorithm.optimizer
        for slot, d in opt.slots.items():
            for k, v in d.items():
                arrays[f"opt/{slot}/{k}"] = model.backend.to_numpy(v)
        if hasattr(self.algorithm, "state_arrays"):
            arrays.update({f"algo/{k}": np.asarray(v) for k, v in self.algorithm.state_arrays().items()})
        arrays["perm"] = self.perm
        # a binarised epoch is stored as uint8 (0/1), 8 times smaller than float64
        arrays["x_epoch"] = self.x_epoch.astype(np.uint8) if self.binarize_epoch is not None else np.zeros(0)
        meta = {"config": self.config, "samples": self.samples, "pos": self.pos, "opt_t": opt.t,
                "rng": self.rng.bit_generator.state, "wall_s": self.wall_s, "records": self.records,
                "losses": self.losses}
        self.directory.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.npz_path, lambda p: np.savez(open(p, "wb"), **arrays))
        _atomic_write(self.json_path, lambda p: p.write_text(json.dumps(meta, indent=1)))
        self._write_csv()

    def _load(self):
        try:
            meta = json.loads(self.json_path.read_text())
            arrays = dict(np.load(self.npz_path))
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot resume from {self.directory}: damaged checkpoint ({err}); "
                             "delete the folder to start over") from None
        saved = {k: v for k, v in meta["config"].items() if k not in _NOT_CHECKED}
        now = {k: v for k, v in self.config.items() if k not in _NOT_CHECKED}
        if saved != now:
            diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            raise ValueError(f"{self.directory} holds a run with different settings ({', '.join(diff)}); "
                             "use another output folder or delete it")
        model = self.algorithm.model
        for k in model.params:
            model.params[k][...] = model.backend.asarray(arrays[f"param/{k}"], dtype=model.dtype)
        opt = self.algorithm.optimizer
        opt.slots = {}
        for key, v in arrays.items():
            if key.startswith("opt/"):
                _, slot, name = key.split("/", 2)
                opt.slots.setdefault(slot, {})[name] = model.backend.asarray(v, dtype=model.dtype)
        opt.t = int(meta["opt_t"])
        if hasattr(self.algorithm, "load_state_arrays"):
            self.algorithm.load_state_arrays({k[5:]: v for k, v in arrays.items() if k.startswith("algo/")})
        self.perm = arrays["perm"]
        if self.binarize_epoch is not None:
            self.x_epoch = arrays["x_epoch"].astype(self.x_train.dtype)
        self.samples, self.pos, self.wall_s = int(meta["samples"]), int(meta["pos"]), float(meta["wall_s"])
        self.records = meta["records"]
        self.losses = meta["losses"]
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = meta["rng"]

    def _write_csv(self):
        if not self.records:
            return
        keys = list(self.records[0])
        for r in self.records:
            keys += [k for k in r if k not in keys]

        def write(p):
            with open(p, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=keys)
                w.writeheader()
                w.writerows(self.records)
        _atomic_write(self.directory / "log.csv", write)

    # ------------------------------------------------------------------ loop
    def _new_epoch(self):
        self.perm = self.rng.permutation(self.x_train.shape[0])
        self.pos = 0
        if self.binarize_epoch is not None:
            self.x_epoch = self.binarize_epoch(self.x_train, self.rng)

    def run(self):
        """Train (or resume) to the budget. Returns the list of evaluation records."""
        if self.json_path.exists():
            self._load()
            self.config["budget"] = self.budget
            if self.samples >= self.budget:
                return self.records
            self.log(f"{self.directory}: resuming at {self.samples:,} samples")
        else:
            self.rng = np.random.default_rng(self.seed)
            self.samples, self.wall_s, self.records, self.losses = 0, 0.0, [], []
            self.x_epoch = self.x_train
            self._new_epoch()
            self.config["budget"] = self.budget
        data = self.x_epoch if self.binarize_epoch is not None else self.x_train
        pending = [e for e in self.eval_at if e > self.samples]
        t0 = last_ckpt = time.perf_counter()
        N, M = self.x_train.shape[0], self.batch_size
        while self.samples < self.budget:
            if self.pos + M > N:
                self._new_epoch()
                data = self.x_epoch if self.binarize_epoch is not None else self.x_train
            index = self.perm[self.pos:self.pos + M]
            self.pos += M
            loss = self.algorithm.step(data[index], self.rng, index)
            if not math.isfinite(loss):
                raise FloatingPointError(f"{self.directory}: the training loss became {loss} at "
                                         f"{self.samples:,} samples; lower the step size")
            self.losses.append(loss)
            self.samples += M
            now = time.perf_counter()
            if pending and self.samples >= pending[0]:
                while pending and self.samples >= pending[0]:
                    pending.pop(0)
                self.wall_s += now - t0
                t0 = now
                record = {"samples": self.samples, "wall_s": round(self.wall_s, 2),
                          "train_loss": float(np.mean(self.losses))}
                t_eval = time.perf_counter()
                record.update(self.evaluate(self.algorithm, self.samples))
                record["eval_s"] = round(time.perf_counter() - t_eval, 2)
                t0 = time.perf_counter()                               # evaluation time is not training time
                self.losses = []
                self.records.append(record)
                self.log(f"{self.directory}: " + ", ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}"
                                                            for k, v in record.items()))
                self._save()
                last_ckpt = time.perf_counter()
            elif now - last_ckpt > self.checkpoint_every:
                self.wall_s += now - t0
                t0 = now
                self._save()
                last_ckpt = time.perf_counter()
        return self.records
