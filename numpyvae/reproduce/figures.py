"""The paper's figures from finished (or resumed) runs: curves, tables and images.

Each ``figure*`` function trains or resumes the runs it needs (see :mod:`numpyvae.reproduce.runs`),
then writes into ``<out>/<figure>/``: PNG panels, ``curves.csv`` (every point of every curve),
``table.md`` (our values beside the paper's) and ``summary.json`` (read by the report). Figures 2
and 3 are drawn from the run folders by :mod:`numpyvae.reproduce.panels`, so ``train=False`` draws
them as the runs stand without training.
"""
import csv
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .. import plotting
from . import compare
from .compare import METHOD_LABEL
from .panels import FIG2_METHODS, render_figure2, render_figure3
from .records import read_run
from .grid import load_result, run_grid
from .runs import make_spec, run_dir, run_name


class _RunResults(Mapping):
    """{run name: (algorithm, records, x_train, x_test, image_shape)} of finished runs, each read from
    its run folder (:func:`numpyvae.reproduce.grid.load_result`) when first asked for."""

    def __init__(self, specs):
        self._specs = {run_name(spec): spec for spec in specs}
        self._loaded = {}

    def __getitem__(self, name):
        if name not in self._loaded:
            self._loaded[name] = load_result(self._specs[name])
        return self._loaded[name]

    def __iter__(self):
        return iter(self._specs)

    def __len__(self):
        return len(self._specs)


def run_all(specs, jobs=1, log=print, scheduler=None):
    """Train (or resume) every spec as a task of :func:`numpyvae.reproduce.grid.run_grid`: on the Dask
    cluster at ``scheduler``, else in ``jobs`` local worker processes with one BLAS thread each (1: in
    this process). Returns {run name: (algorithm, records, x_train, x_test, image_shape)}, each read from
    its run folder when first used. Raises :class:`~numpyvae.reproduce.grid.GridFailed` when a run
    failed (after the others finished)."""
    run_grid(specs, jobs=jobs, scheduler=scheduler, log=log)
    return _RunResults(specs)


def _write_csv(path, rows):
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def _fmt(v, nd=1):
    return compare.fmt(v, nd)


def _data_title(data):
    return {"mnist": "MNIST", "frey": "Frey Face"}.get(data, data)


# ---------------------------------------------------------------------------------------------- Figure 2
def figure2(data, nzs, budget, out, jobs=1, log=print, scheduler=None, train=True, methods=FIG2_METHODS,
            **options):
    """K&W Figure 2: lower bound vs training samples, AEVB (train, test) and wake-sleep, one panel per N_z,
    each beside the paper's curves. Trains or resumes the runs of ``methods`` (``train=False``: draws
    the run folders as they are, runs in progress included), then writes into ``<out>/fig2/``: the
    figures and table of :func:`render_figure2` (with every method's run folder that exists) and
    ``<data>_curves.csv`` (every evaluation of every run)."""
    unknown = [m for m in methods if m not in FIG2_METHODS]
    if unknown:
        raise ValueError(f"methods: Figure 2 has the methods {', '.join(FIG2_METHODS)}; got {', '.join(unknown)}")
    specs = {(nz, m): make_spec(data, nz, m, budget, out, **options) for nz in nzs for m in FIG2_METHODS}
    if train:
        run_all([spec for (nz, m), spec in specs.items() if m in methods], jobs, log, scheduler)
    runs = {k: read_run(run_dir(spec)) for k, spec in specs.items()}
    fig_dir = Path(out) / "fig2"
    result = render_figure2(data, nzs, runs, fig_dir)
    rows = [{"data": data, "nz": nz, "method": m, **r} for (nz, m), run in runs.items() if run is not None
            for r in run["records"]]
    if rows:
        _write_csv(fig_dir / f"{data}_curves.csv", rows)
    (fig_dir / f"{data}_summary.json").write_text(json.dumps(
        {"data": data, "budget": budget, "lead": result["lead"], "runs": result["runs"],
         "options": {k: v for k, v in next(iter(specs.values())).items() if k not in ("nz", "method")}},
        indent=1, default=float))
    log(result["table"])
    return result["table"]


# ---------------------------------------------------------------------------------------------- Figure 3
FIG3_DEFAULTS = (("ml_points", 1000), ("is_samples", 5000), ("hmc_samples", 100), ("hmc_burnin", 200),
                 ("ml_evals", 5))


def fig3_specs(n_trains, budget, out, methods=("aevb", "wake_sleep", "mcem"), data="mnist", **options):
    """{(N_train, method): spec} of Figure 3's runs, with the paper's estimator settings as defaults."""
    options = dict(options)
    options.setdefault("hidden", 100)
    for k, v in FIG3_DEFAULTS:
        if options.get(k) is None:
            options[k] = v
    return {(n, m): make_spec(data, 3, m, budget, out, n_train=n, **options) for n in n_trains for m in methods}


def figure3(n_trains, budget, out, methods=("aevb", "wake_sleep", "mcem"), jobs=1, log=print, data="mnist",
            train=True, scheduler=None, **options):
    """K&W Figure 3: estimated marginal likelihood vs training samples; N_z = 3, 100 hidden units, MNIST."""
    specs = fig3_specs(n_trains, budget, out, methods, data, **options)
    if train:
        run_all(list(specs.values()), jobs, log, scheduler)
    runs = {k: read_run(run_dir(spec)) for k, spec in specs.items()}
    fig_dir = Path(out) / "fig3"
    fig_dir.mkdir(parents=True, exist_ok=True)
    settings = next(iter(specs.values()))
    result = render_figure3(data, n_trains, methods, runs, settings, fig_dir / "fig3.png")
    rows = [{"n_train": n, "method": m, **r} for (n, m), run in runs.items() if run is not None
            for r in run["records"]]
    _write_csv(fig_dir / "curves.csv", rows)
    (fig_dir / "table.md").write_text(result["table"])
    (fig_dir / "summary.json").write_text(json.dumps({"budget": budget, "table": result["rows"],
                                                      "options": {k: settings.get(k) for k, _ in FIG3_DEFAULTS}},
                                                     indent=1, default=float))
    log(result["table"])
    return result["table"]


# ---------------------------------------------------------------------------------------------- Figures 4, 5
def _decode_mean(model):
    def decode(z):
        out = model.decode(z)
        return np.clip(model.backend.to_numpy(model.decoder.mean(out)), 0.0, 1.0)
    return decode


def figure4(budget, out, datasets=("frey", "mnist"), jobs=1, log=print, scheduler=None, n_grid=20, **options):
    """K&W Figure 4: the learned 2-D manifolds, decoded on a grid through the inverse Gaussian CDF."""
    specs = [make_spec(d, 2, "aevb", budget, out, **options) for d in datasets]
    results = run_all(specs, jobs, log, scheduler)
    fig_dir = Path(out) / "fig4"
    fig_dir.mkdir(parents=True, exist_ok=True)
    summary = []
    for d, spec in zip(datasets, specs):
        algo, records, _, _, shape = results[run_name(spec)]
        plotting.manifold_grid(_decode_mean(algo.model), shape, fig_dir / f"{d}_manifold.png", n=n_grid,
                               title=f"{_data_title(d)}, learned 2-D manifold ({records[-1]['samples']:.2g} samples)")
        summary.append({"data": d, "samples": records[-1]["samples"], "train_bound": records[-1]["train_bound"],
                        "test_bound": records[-1]["test_bound"]})
    (fig_dir / "summary.json").write_text(json.dumps({"budget": budget, "runs": summary}, indent=1))
    return summary


def figure5(budget, out, nzs=(2, 5, 10, 20), data="mnist", jobs=1, log=print, n_samples=100, scheduler=None,
            **options):
    """K&W Figure 5: random samples (decoder means at z ~ N(0, I)) of models with several N_z."""
    specs = [make_spec(data, nz, "aevb", budget, out, **options) for nz in nzs]
    results = run_all(specs, jobs, log, scheduler)
    fig_dir = Path(out) / "fig5"
    fig_dir.mkdir(parents=True, exist_ok=True)
    summary = []
    for nz, spec in zip(nzs, specs):
        algo, records, _, _, shape = results[run_name(spec)]
        z = np.random.default_rng(0).standard_normal((n_samples, nz))
        plotting.image_grid(_decode_mean(algo.model)(z), shape, fig_dir / f"{data}_nz{nz}_samples.png",
                            title=f"$N_z$ = {nz}")
        summary.append({"nz": nz, "samples": records[-1]["samples"], "test_bound": records[-1]["test_bound"]})
    (fig_dir / "summary.json").write_text(json.dumps({"budget": budget, "data": data, "runs": summary}, indent=1))
    return summary


# ---------------------------------------------------------------------------------------------- autoencoder
def reconstruction_errors(model, x, batch=1000, rng=0, n_samples=10):
    """Reconstruction errors per datapoint, averaged over ``x``: ``sse`` = sum_d (x_d - xhat_d)^2 with
    xhat the decoder mean at the code (a VAE: at z = mu(x)); for Bernoulli decoders also ``nll`` =
    -log p(x | xhat) = -sum_d [x_d log xhat_d + (1 - x_d) log(1 - xhat_d)] (stable, from the logits);
    for a VAE also ``nll_q`` = -E_q(z|x)[log p(x | z)], the ELBO's reconstruction term
    (``n_samples`` draws of z)."""
    is_vae = hasattr(model, "elbo_terms")
    rng = np.random.default_rng(rng)
    sums = {}
    for i in range(0, x.shape[0], batch):
        xb = model.backend.asarray(x[i:i + batch], dtype=model.dtype)
        out = model.decode(model.embed(xb))                           # the code: mu for a VAE
        parts = {"sse": ((xb - model.decoder.mean(out)) ** 2).sum(axis=1)}
        if "logits" in out:
            parts["nll"] = -model.decoder.log_prob_forward(xb, out)[0]
            if is_vae:
                parts["nll_q"] = -model.elbo_terms(xb, rng=rng, n_samples=n_samples)["loglik"]
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + float(model.backend.to_numpy(v).sum())
    return {k: v / x.shape[0] for k, v in sums.items()}


def autoencoder_comparison(data, nzs, budget, out, jobs=1, log=print, scheduler=None, n_show=10, **options):
    """A plain autoencoder with the layers of the paper's VAE (the encoder's mean head as its code),
    trained with the same protocol and budget, beside the AEVB runs of Figure 2: reconstruction
    errors on the test set, and test images with both reconstructions."""
    specs = {(m, nz): make_spec(data, nz, m, budget, out, **options) for nz in nzs for m in ("aevb", "autoencoder")}
    results = run_all(list(specs.values()), jobs, log, scheduler)
    fig_dir = Path(out) / "ae"
    fig_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for nz in nzs:
        models = {m: results[run_name(specs[m, nz])] for m in ("aevb", "autoencoder")}
        x_test, shape = models["aevb"][3], models["aevb"][4]
        ae = reconstruction_errors(models["autoencoder"][0].model, x_test)
        vae = reconstruction_errors(models["aevb"][0].model, x_test)
        rows.append({"nz": nz, "samples": models["aevb"][1][-1]["samples"], "ae": ae, "vae": vae,
                     "vae_test_bound": models["aevb"][1][-1]["test_bound"],
                     "wall_s": {m: models[m][1][-1]["wall_s"] for m in models}})
        shown = x_test[:n_show]
        images = np.concatenate([shown] + [np.clip(models[m][0].model.backend.to_numpy(
            models[m][0].model.reconstruct(shown)), 0.0, 1.0) for m in ("autoencoder", "aevb")])
        plotting.image_grid(images, shape, fig_dir / f"{data}_nz{nz}_reconstructions.png", nrows=3,
                            title=f"{_data_title(data)}, $N_z$ = {nz}: test images, autoencoder, VAE (z = mu)")
    bernoulli = "nll" in rows[0]["ae"]
    head = f"{_data_title(data)}, test set, after {budget:.3g} training samples per run (the same layers, "\
           "step-size choice and weight decay for both). Reconstruction errors per image: "
    if bernoulli:
        head += ("-log p(x | xhat) in nats (cross-entropy of the grey values with the decoder's probabilities), "
                 "the squared error sum_d (x_d - xhat_d)^2, and for the VAE the ELBO's reconstruction term "
                 "-E_q[log p(x | z)] (10 draws).")
        lines = [head, "", "| N_z | AE -log p(x given xhat) | VAE -log p(x given xhat), z = mu | VAE -E_q log p(x given z) | "
                 "AE squared error | VAE squared error (z = mu) | VAE test bound |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['nz']} | {r['ae']['nll']:.1f} | {r['vae']['nll']:.1f} | {r['vae']['nll_q']:.1f} | "
                         f"{r['ae']['sse']:.2f} | {r['vae']['sse']:.2f} | {r['vae_test_bound']:.1f} |")
    else:
        head += "the squared error sum_d (x_d - xhat_d)^2 (pixel values in [0, 1]; the VAE's xhat: its decoder mean at z = mu)."
        lines = [head, "", "| N_z | AE squared error | VAE squared error (z = mu) | VAE test bound |", "|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['nz']} | {r['ae']['sse']:.2f} | {r['vae']['sse']:.2f} | {r['vae_test_bound']:.1f} |")
    md = "\n".join(lines) + "\n"
    (fig_dir / f"{data}_table.md").write_text(md)
    (fig_dir / f"{data}_summary.json").write_text(json.dumps({"data": data, "budget": budget, "rows": rows}, indent=1))
    log(md)
    return md


# ---------------------------------------------------------------------------------------------- appendix F
def full_vb(data, nz, budget, out, jobs=1, log=print, scheduler=None, **options):
    """Appendix F: full variational Bayes over the decoder, beside MAP AEVB with the same settings."""
    specs = [make_spec(data, nz, m, budget, out, **options) for m in ("aevb", "fullvb")]
    results = run_all(specs, jobs, log, scheduler)
    fig_dir = Path(out) / "fullvb"
    fig_dir.mkdir(parents=True, exist_ok=True)
    curves, rows = [], []
    for m, spec in zip(("aevb", "fullvb"), specs):
        records = results[run_name(spec)][1]
        s = np.array([r["samples"] for r in records], dtype=float)
        for split in ("train", "test"):
            curves.append({"label": f"{METHOD_LABEL[m]} {split}", "samples": s,
                           "bound": np.array([r[f"{split}_bound"] for r in records])})
        last = records[-1]
        rows.append({"method": m, "samples": last["samples"], "train": last["train_bound"],
                     "test": last["test_bound"], "wall_s": last["wall_s"]})
    plotting.training_curves(curves, fig_dir / f"{data}_nz{nz}.png",
                             title=f"{_data_title(data)}, $N_z$ = {nz}: MAP (AEVB) vs. full VB (appendix F)")
    lines = [f"{_data_title(data)}, N_z = {nz}, after {budget:.3g} training samples. AEVB: MAP estimate of theta, "
             "lower bound on log p(x | theta). Full VB: lower bound on the marginal likelihood with theta "
             "integrated out, per datapoint (L / N, one theta draw per evaluation).", "",
             "| method | train bound | test bound | wall time |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {METHOD_LABEL[r['method']]} | {_fmt(r['train'])} | {_fmt(r['test'])} | "
                     f"{r['wall_s'] / 60:.1f} min |")
    md = "\n".join(lines) + "\n"
    (fig_dir / "table.md").write_text(md)
    (fig_dir / "summary.json").write_text(json.dumps({"data": data, "nz": nz, "budget": budget, "rows": rows},
                                                     indent=1))
    log(md)
    return md
