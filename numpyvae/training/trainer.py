r"""The training engine: one loop for every model and every training algorithm.

    repeat
        X^M  <- a minibatch of M datapoints (without replacement within an epoch)
        algorithm.step(X^M, rng)     SGVB (K&W Algorithm 1):  g <- grad of -(1/M) sum_i ELBO(x_i; eps_i),
                                                              theta <- optimizer update with g
                                     or wake-sleep, Monte Carlo EM, full VB (numpyvae.algorithms)
    until the epoch or sample budget is spent

Around it: scheduled evaluation of the train and test bound, a log, checkpoints (with the exact
state needed to resume), a stop with a clear message when the loss turns NaN or infinite, and a
clean stop on Ctrl-C.

Reproducibility: every random draw of the loop comes from one ``numpy.random.Generator`` seeded
with ``config.seed`` (epoch permutation, dynamic binarization, noise). Evaluation draws from
generators of its own (``default_rng([seed, 3, samples_seen])``), so evaluating more or less often
never changes the training trajectory, nor the value recorded at a given point. A checkpoint stores the generator's state
at the start of the current epoch and after the last step, so a resumed run redraws the same
permutation, skips the batches already done and continues bit-for-bit as if it had never stopped,
as long as the BLAS runs the same kernels on as many threads: a run resumed with others goes on,
with a ``RuntimeWarning`` that says so (:attr:`Trainer.resume_note`).
"""
import math
import signal
import threading
import time
import warnings

import numpy as np

from ..algorithms import Algorithm, make_algorithm
from ..arrays.blas import blas_change, blas_setting
from ..arrays.validation import NonFiniteError
from ..datasets.binarize import bernoulli_binarize
from ..optim.optimizers import make_optimizer
from .checkpoint import load_checkpoint, make_checkpoint, restore_state, write_checkpoint
from .rng_state import rng_from_state, rng_state
from .validation import check_training_state
from .config import TrainConfig, log_schedule_next
from ..evaluation.bounds import bound_name, mean_bound
from ..models.conditioning import condition_kwargs, needs_labels
from .data import EvaluationSets, fingerprint, host_array
from .log import TrainingLog
from .progress import Progress

__all__ = ["Trainer", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model was put back to its last good state."""


class Trainer:
    """Train a model with minibatch SGVB or another algorithm of :mod:`numpyvae.algorithms`.

    Parameters
    ----------
    model : registered model (see :mod:`numpyvae.models.registry`)
    config : TrainConfig, optional
        The settings; keyword arguments override its fields (``Trainer(model, epochs=5, lr=1e-3)``).
    optimizer : numpyvae.optim.Optimizer or str, optional
        Default: built from the config (a name sets ``config.optimizer``).
    checkpoint_path : str or Path, optional
        ``.npz`` file written at the scheduled points, at the end and on Ctrl-C.
    log_path : str or Path, optional
        ``.csv`` or ``.jsonl`` log, one record per evaluation.
    progress : bool or Progress
        Print a progress line (live on a terminal) and one line per evaluation.
    callback : callable, optional
        ``callback(trainer, record)`` after every evaluation.
    extra : dict, optional
        JSON-friendly information stored in every checkpoint (e.g. the data set used).
    algorithm : numpyvae.algorithms.Algorithm, optional
        A ready algorithm (its optimizer is used). Default: built at :meth:`fit` from
        ``config.algorithm`` and ``config.algorithm_options`` around ``model`` and the optimizer.
    evaluator : callable, optional
        ``evaluator(algorithm, samples, final) -> dict`` of the values recorded at each evaluation
        point instead of the default train and test bounds. It must draw its own randomness from a
        generator seeded by ``samples``, so that evaluating never changes the training trajectory.

    Attributes
    ----------
    history : list of dict
        One record per evaluation (see :mod:`numpyvae.training.log` for the fields).
    state : dict
        The loop's progress (samples seen, epoch, random-generator states, ...).
    resume_note : str or None
        For a run resumed by :meth:`from_checkpoint` with other BLAS kernels or threads than the
        checkpoint was saved with, what changed (:func:`numpyvae.arrays.blas.blas_change`); else None.
    """

    def __init__(self, model, config=None, *, optimizer=None, checkpoint_path=None, log_path=None,
                 progress=False, callback=None, extra=None, algorithm=None, evaluator=None, **settings):
        if isinstance(optimizer, str):                                      # a name: a setting like the others
            settings["optimizer"], optimizer = optimizer, None
        if isinstance(algorithm, str):
            settings["algorithm"], algorithm = algorithm, None
        config = TrainConfig() if config is None else config
        self.config = config.replace(**settings) if settings else config
        self.model = model
        if algorithm is not None:
            if not isinstance(algorithm, Algorithm):
                raise ValueError(f"algorithm must be a name or a numpyvae.algorithms.Algorithm, got "
                                 f"{type(algorithm).__name__}")
            if algorithm.model is not model:
                raise ValueError("the algorithm was built around another model than the one given")
            self.config = self.config.replace(algorithm=algorithm.name, algorithm_options=algorithm.get_config())
            optimizer = algorithm.optimizer
        self.algorithm = algorithm
        self.evaluator = evaluator
        self._algorithm_arrays = None     # state arrays from a checkpoint, loaded when the algorithm is built
        self._resumed_from = None         # that checkpoint's path
        self.resume_note = None           # resumed with other BLAS settings than saved: how (else None)
        self.optimizer = optimizer if optimizer is not None else make_optimizer(
            self.config.optimizer, **self.config.optimizer_kwargs())
        self.checkpoint_path = checkpoint_path
        self.log_path = log_path
        self.progress = progress if isinstance(progress, Progress) else Progress(enabled=bool(progress))
        self.callback = callback
        self.extra = dict(extra or {})
        self.state = None
        self.history = []
        self._stop_requested = False
        self._good = None                 # (meta, arrays) of the last good state, in host memory
        self._session_start = time.perf_counter()
        self._saved_samples = None        # training samples of the last checkpoint written

    # ------------------------------------------------------------------ resuming
    @classmethod
    def from_checkpoint(cls, path, *, checkpoint_path=None, log_path=None, progress=False, callback=None,
                        evaluator=None, **overrides):
        """Continue the run saved in ``path``.

        ``overrides`` may extend the budget (``epochs``, ``max_samples``), change ``lr`` or the
        evaluation schedule ``eval_every`` (which never changes the trajectory); other settings are
        those of the saved run. ``checkpoint_path`` defaults to ``path``.
        """
        ckpt = load_checkpoint(path)
        if not ckpt.trainer or ckpt.optimizer is None:
            raise ValueError(f"{path} holds a model but no training state to resume")
        allowed = {"epochs", "max_samples", "lr", "eval_every"}
        if set(overrides) - allowed:
            raise ValueError(f"a resumed run can only change {sorted(allowed)}, not {sorted(set(overrides) - allowed)}")
        try:
            saved = check_training_state(ckpt)
        except (ValueError, TypeError, KeyError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{path} is not a valid numpyvae checkpoint: {detail}") from None
        config = saved.replace(**overrides)
        if "lr" in overrides:
            ckpt.optimizer.lr = float(overrides["lr"])
        trainer = cls(ckpt.model, config, optimizer=ckpt.optimizer,
                      checkpoint_path=path if checkpoint_path is None else checkpoint_path,
                      log_path=log_path, progress=progress, callback=callback, extra=ckpt.extra,
                      evaluator=evaluator)
        trainer._algorithm_arrays = ckpt.algorithm_arrays
        trainer._resumed_from = path
        trainer.resume_note = blas_change(ckpt.meta.get("blas"), blas_setting())
        if trainer.resume_note:
            warnings.warn(f"resuming {path}: {trainer.resume_note}", RuntimeWarning, stacklevel=2)
        trainer.state = dict(ckpt.trainer["state"])
        trainer.state["done"] = False
        if "eval_every" in overrides:                                      # the next point of the new schedule
            trainer.state["next_eval"] = trainer._next_eval()
        trainer.history = list(ckpt.trainer["history"])
        return trainer

    # ------------------------------------------------------------------ the loop
    def fit(self, x, labels=None, x_test=None, labels_test=None):
        """Train on ``x`` (N, D), evaluating on ``x`` and ``x_test``; returns :attr:`history`.

        Parameters
        ----------
        x : array (N, D)
            Training data (grey values in [0, 1] with ``binarize="dynamic"``).
        labels : int array (N,), optional
            Class labels; required by conditional models.
        x_test, labels_test : optional
            Held-out data for the test bound.

        Raises
        ------
        TrainingDiverged
            When the loss becomes NaN or infinite (the model is restored to the last good state).
        KeyboardInterrupt
            After saving a checkpoint, when interrupted (Ctrl-C).
        """
        cfg, model = self.config, self.model
        dtype = getattr(model, "dtype", np.float64)
        x = host_array(x, "x", dtype, labels)
        if x_test is not None:
            x_test = host_array(x_test, "x_test", dtype, labels_test)
        if needs_labels(model) and (labels is None or (x_test is not None and labels_test is None)):
            raise ValueError(f"{type(model).__name__} is conditioned on labels: pass labels (and labels_test)")
        N = x.shape[0]
        if cfg.last_batch == "drop" and N < cfg.batch_size:
            raise ValueError(f"with last_batch='drop' the training set ({N} rows) must hold at least one "
                             f"minibatch (batch_size {cfg.batch_size})")
        self._build_algorithm(N)
        if self.state is None:
            self.state = {"samples": 0, "epoch": 0, "batch": 0, "n_evals": 0, "wall_time": 0.0, "eval_time": 0.0,
                          "batch_sum": 0.0, "batch_count": 0, "next_eval": 0, "done": False,
                          "rng": rng_state(np.random.default_rng(cfg.seed)), "epoch_rng": None,
                          "n_train": N, "fingerprint": fingerprint(x)}
        elif self.state["n_train"] != N or self.state["fingerprint"] != fingerprint(x):
            raise ValueError(f"this run was trained on other data ({self.state['n_train']} rows); resume it on "
                             f"the same training set (got {N} rows with different contents)")
        if isinstance(cfg.eval_every, list):                               # the next listed point not yet reached
            self.state["next_eval"] = next((p for p in cfg.eval_every if p > self.state["samples"]
                                            or (p == 0 and self.state["n_evals"] == 0)), None)
        self._eval_sets = EvaluationSets(x, labels, x_test, labels_test, cfg.eval_size, cfg.seed,
                                         dynamic=cfg.binarize == "dynamic")
        self._log = None if self.log_path is None else TrainingLog(self.log_path, self.history)
        self._session_start = time.perf_counter()
        self._stop_requested = False
        self._saved_at = self._session_start
        if self.state["n_evals"]:                                           # resumed: that state is good
            self._good = self._make_checkpoint()
            self._saved_samples = self.state["samples"]
        old_handler = self._install_sigint()
        try:
            if self.state["samples"] == 0 and self.state["n_evals"] == 0 and self._evaluates_start():
                self._evaluate()
            self._run(x, labels)
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
            now = time.perf_counter()
            self.state["wall_time"] += now - self._session_start           # this session's time is now counted
            self._session_start = now
        return self.history

    def _build_algorithm(self, n_data):
        """The algorithm of the config around the model and optimizer (once), with any saved state."""
        cfg = self.config
        try:
            if self.algorithm is None:
                options = dict(cfg.algorithm_options)
                if cfg.algorithm == "sgvb":
                    options.setdefault("n_samples", cfg.n_samples)
                self.algorithm = make_algorithm(cfg.algorithm, self.model, self.optimizer, n_data=n_data,
                                                seed=cfg.seed, **options)
            if self._algorithm_arrays is not None:
                self.algorithm.load_state_arrays(self._algorithm_arrays)
                self._algorithm_arrays = None
        except (ValueError, KeyError) as exc:
            if self._resumed_from is None:
                raise
            detail = f"missing array {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{self._resumed_from} is not a valid numpyvae checkpoint: the {cfg.algorithm} "
                             f"algorithm: {detail}") from None

    def _evaluates_start(self):
        every = self.config.eval_every
        return not isinstance(every, list) or 0 in every

    def _make_checkpoint(self):
        return make_checkpoint(self.model, self.optimizer, self._trainer_meta(), self.extra, algorithm=self.algorithm)

    def _run(self, x, labels):
        cfg, st, model, algo = self.config, self.state, self.model, self.algorithm
        N, B = x.shape[0], cfg.batch_size
        n_batches = math.ceil(N / B) if cfg.last_batch == "partial" else N // B
        cond_all = condition_kwargs(model, labels)
        backend = getattr(model, "backend", None)
        to_model = backend.asarray if backend is not None else np.asarray
        rng = rng_from_state(st["rng"])
        budget = math.inf if cfg.max_samples is None else cfg.max_samples
        epochs = math.inf if cfg.epochs is None else cfg.epochs
        t_rate, s_rate = time.perf_counter(), st["samples"]
        per_epoch = N if cfg.last_batch == "partial" else n_batches * B
        total = min(budget, epochs * per_epoch)                             # samples of the whole run
        total = None if math.isinf(total) else total

        while st["epoch"] < epochs and st["samples"] < budget:
            if st["batch"] == 0:
                st["epoch_rng"] = rng_state(rng)                            # the epoch's draws start here
                perm, xe = self._epoch_data(x, rng)
            else:                                                           # resuming inside an epoch
                perm, xe = self._epoch_data(x, rng_from_state(st["epoch_rng"]))
            xe = to_model(xe)
            b = st["batch"]
            while b < n_batches:
                idx = perm[b * B:(b + 1) * B]
                xb = xe[idx]                                                # (M, D)
                cond = {k: v[idx] for k, v in cond_all.items()}
                before = rng.bit_generator.state
                try:
                    loss = algo.step(xb, rng, idx, **cond)
                except NonFiniteError as exc:                               # the model's own check, before any update
                    self._diverged(exc.value, cause=exc.cause)
                except KeyboardInterrupt:
                    if not algo.updating:                                   # parameters untouched: undo the draws
                        rng.bit_generator.state = before
                        self._interrupted(rng)
                    else:
                        algo.updating = False
                        self.progress.message("interrupted during a parameter update; the last checkpoint is kept")
                    raise
                if not math.isfinite(loss):
                    self._diverged(loss)
                b += 1
                m = idx.shape[0]
                st["samples"] += m
                st["batch_sum"] -= loss * m
                st["batch_count"] += m
                st["batch"] = b % n_batches
                if b == n_batches:
                    st["epoch"] += 1
                if self.progress.live:
                    now = time.perf_counter()
                    self.progress.update(st["epoch"] + (b < n_batches), b, n_batches,
                                         (st["samples"] - s_rate) / max(now - t_rate, 1e-9),
                                         -st["batch_sum"] / st["batch_count"],
                                         elapsed=st["wall_time"] + now - self._session_start,
                                         remaining=None if total is None else total - st["samples"])
                end = st["samples"] >= budget or (b == n_batches and st["epoch"] >= epochs)
                if end or self._eval_due(b == n_batches):
                    st["rng"] = rng_state(rng)
                    self._evaluate(final=end)
                    t_rate, s_rate = time.perf_counter(), st["samples"]
                elif (b == n_batches and self.checkpoint_path is not None and cfg.checkpoint_seconds is not None
                      and time.perf_counter() - self._saved_at > cfg.checkpoint_seconds):
                    st["rng"] = rng_state(rng)                              # no evaluation for a while: save anyway
                    self._snapshot(write=True)
                if self._stop_requested:
                    self._interrupted(rng)
                    raise KeyboardInterrupt
                if end:
                    break
        st["rng"] = rng_state(rng)
        if not self.history or self.history[-1]["samples"] != st["samples"]:
            self._evaluate(final=True)                                      # budget already spent on entry
        st["done"] = True

    def _epoch_data(self, x, rng):
        """The epoch's permutation (N,) and its data: ``x`` or a fresh Bernoulli draw of it."""
        perm = rng.permutation(x.shape[0])
        if self.config.binarize == "dynamic":
            return perm, bernoulli_binarize(x, rng)
        return perm, x

    # ------------------------------------------------------------------ evaluation and saving
    def _eval_due(self, epoch_end):
        every, st = self.config.eval_every, self.state
        if every == "epoch":
            return epoch_end
        return st["next_eval"] is not None and st["samples"] >= st["next_eval"]

    def _next_eval(self):
        every, samples = self.config.eval_every, self.state["samples"]
        if every == "log":
            return log_schedule_next(samples)
        if every == "epoch":
            return None
        if isinstance(every, list):
            return next((s for s in every if s > samples), None)
        return (samples // every + 1) * every

    def _evaluate(self, final=False):
        cfg, st = self.config, self.state
        t_eval = time.perf_counter()
        record = {"samples": st["samples"], "epoch": st["samples"] / st["n_train"],
                  "wall_time": None, "train_bound": None, "test_bound": None,
                  "batch_bound": st["batch_sum"] / st["batch_count"] if st["batch_count"] else None}
        if self.evaluator is not None:
            values = self.evaluator(self.algorithm, st["samples"], final)
        else:
            rng = np.random.default_rng([cfg.seed, 3, st["samples"]])      # the same noise at a point, whatever the schedule
            values = {}
            for key in self._eval_sets.names:
                data, lab = self._eval_sets.data(key, full=final)
                values[f"{key}_bound"] = mean_bound(self.model, data, rng, lab, cfg.eval_samples, cfg.eval_batch_size)
        for key, value in values.items():
            if key.endswith("_bound") and value is not None and not math.isfinite(value):
                self._diverged(value, where=f"the {key.replace('_bound', '')} bound")
        record.update(values)
        st["eval_time"] = st.get("eval_time", 0.0) + time.perf_counter() - t_eval
        record["eval_time"] = st["eval_time"]
        record["wall_time"] = st["wall_time"] + time.perf_counter() - self._session_start
        st["n_evals"] += 1
        st["next_eval"] = self._next_eval()
        st["batch_sum"], st["batch_count"] = 0.0, 0
        if final:
            st["done"] = True
        self.history.append(record)
        self._snapshot(write=final or cfg.checkpoint_every is not None and st["n_evals"] % cfg.checkpoint_every == 0)
        if self._log is not None:                                          # after the checkpoint that holds it
            self._log.write(record)
        for line in self._describe(record).splitlines():                  # the legend, then the record
            self.progress.message(line)
        if self.callback is not None:
            self.callback(self, record)

    def save(self, path=None):
        """Write the current state (model, optimizer, progress) to ``path`` (default: the checkpoint
        path); returns the path. Use it after changing the model outside the loop (e.g. fitting a
        prior over its codes)."""
        path = self.checkpoint_path if path is None else path
        if path is None:
            raise ValueError("no checkpoint path: pass one to save() or to the Trainer")
        if self.state is None:
            raise ValueError("nothing to save yet: call fit() first")
        return write_checkpoint(path, *self._make_checkpoint())

    def _snapshot(self, write):
        """Keep the current state as the last good one (in memory) and, if ``write``, save it."""
        if not self._params_finite():
            self._diverged(float("nan"), where="the parameters")
        self._good = self._make_checkpoint()
        if write and self.checkpoint_path is not None:
            write_checkpoint(self.checkpoint_path, *self._good)
            self._saved_samples = self.state["samples"]
            self._saved_at = time.perf_counter()

    def _describe(self, r):
        """One line per evaluation, after a legend on the run's first: train and test hold the model's
        bound (:func:`numpyvae.evaluation.bound_name`), ``loss`` the mean minibatch training loss since
        the previous line (minus ``batch_bound``; no bound for a VQ-VAE, whose loss adds its codebook
        and commitment terms, nor for a beta-VAE)."""
        parts = [f"samples {r['samples']:>10,}", f"epoch {r['epoch']:7.2f}"]
        for key in ("train_bound", "test_bound"):
            if r.get(key) is not None:
                parts.append(f"{key.replace('_bound', '')} {r[key]:9.3f}")
        if r.get("batch_bound") is not None:
            parts.append(f"loss {-r['batch_bound']:9.3f}")
        parts.append(f"{r['wall_time']:8.1f} s")
        line = "  ".join(parts)
        if len(self.history) == 1:
            line = (f"train, test: {bound_name(self.model)} per datapoint; loss: the mean training loss of the "
                    f"minibatches since the previous line\n" + line)
        return line

    def _params_finite(self):
        params = self.model.params if self.algorithm is None else {**self.model.params, **self.algorithm.params}
        return all(bool(np.isfinite(p).all()) for p in params.values())

    def _trainer_meta(self):
        st = dict(self.state)
        st["wall_time"] = st["wall_time"] + time.perf_counter() - self._session_start
        return {"config": self.config.to_dict(), "state": st, "history": list(self.history)}

    def _diverged(self, value, where="the training loss", cause=None):
        st = self.state
        msg = (f"training diverged: {where} became {value} after {st['samples']:,} training samples "
               f"(epoch {st['epoch']}){f' ({cause})' if cause else ''}. ")
        if self._good is not None:
            good_samples = self._good[0]["trainer"]["state"]["samples"]
            restore_state(self.model, self.optimizer, *self._good, algorithm=self.algorithm)
            msg += f"The model was restored to its last good state ({good_samples:,} samples)"
            saved = self._saved_samples
            if self.checkpoint_path is not None and saved is not None:
                msg += f"; the last good checkpoint {self.checkpoint_path} ({saved:,} samples) is kept"
            msg += ". "
        msg += "Try a smaller learning rate (lr), gradient clipping (clip_norm) or weight decay."
        raise TrainingDiverged(msg)

    def _interrupted(self, rng):
        """Save the state after the last completed step (on Ctrl-C)."""
        if self.checkpoint_path is None:
            return
        self.state["rng"] = rng_state(rng)
        write_checkpoint(self.checkpoint_path, *self._make_checkpoint())
        self.progress.message(f"interrupted after {self.state['samples']:,} training samples; checkpoint saved to "
                              f"{self.checkpoint_path}")

    def _install_sigint(self):
        """First Ctrl-C: finish the current step, save, then raise KeyboardInterrupt. Second: at once."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True

        try:
            return signal.signal(signal.SIGINT, handler)
        except ValueError:
            return None
