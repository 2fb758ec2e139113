"""docs/reproduction.md, assembled from the figures, tables and summaries under the results folder.

Figures are copied to ``docs/figures/reproduction/``; every table and number comes from the files
the figure commands wrote, so the report always describes the runs that exist.
"""
import json
import platform
import shutil
from pathlib import Path


PROTOCOL = """\
## Protocol

What the paper states, and how we implement it (numpyvae.reproduce.runs, .algorithms, .loop):

- **Models.** Encoder and decoder are MLPs with one tanh hidden layer of equal size: 500 units for
  MNIST, 200 for Frey Faces (100 for Figure 3). MNIST: Bernoulli decoder. Frey Faces: Gaussian decoder
  with sigmoid mean and a learned per-pixel log-variance head (`likelihood="gaussian_sigmoid"`).
- **Objective.** Estimator B (analytic KL), L = 1 sample, minibatches of M = 100.
- **Optimiser.** Adagrad with the global step size chosen from {0.01, 0.02, 0.1} per run: each candidate
  trains a fresh model for `--pilot` samples and the lowest mean training loss over the last quarter of
  the pilot wins (stored in the run folder as `lr_selection.json`). Adagrad's epsilon is 1e-8.
- **Prior on the parameters (MAP).** p(theta) = N(0, I) on every parameter, added to the per-datapoint
  objective with weight 1/N (N the training-set size): a weight decay of 1/N on the mean loss, 2e-5 for
  MNIST. This is the exact MAP objective sum_i L(x_i) + log p(theta), divided by N.
- **Initialisation.** Every weight and bias from N(0, 0.01^2) (we read the paper's N(0, 0.01) as a
  standard deviation of 0.01).
- **Data.** MNIST: the first 50000 training images for training, t10k for testing; the paper does
  not say whether it binarised: we use the grey values as Bernoulli targets (`--binarize none`), with
  `static` (one fixed draw) and `dynamic` (a draw per epoch) as options. Frey Faces (1965 images) has no
  split in the paper: we train on 1765 and test on 200 (a fixed seeded permutation, `--protocol official`);
  `--protocol kw2013` holds out 200 more for validation. Pixels are scaled to [0, 1].
- **Wake-sleep** (numpyvae.algorithms.wake_sleep): the same encoder and decoder; wake phase ascends
  log p(x | z) in theta with z ~ q(z | x), sleep phase ascends log q(z | x) in phi on fantasies
  z ~ p(z), x ~ p(x | z) (binary draws for MNIST); both gradients go into one Adagrad step with the
  same weight decay. Its curve is the lower bound with its recognition model as q, as in the paper.
- **Monte Carlo EM** (numpyvae.algorithms.mcem, appendix E): per minibatch one HMC transition of 10 leapfrog
  steps (step size adapted per datapoint towards 90 % acceptance, jittered by +-20 %) from a persistent
  chain per datapoint, then 5 Adagrad updates of theta at the fixed samples. Persistence is our
  choice; the paper does not say how the chains start.
- **Marginal likelihood** (numpyvae.evaluation.marginal_likelihood, appendix D): HMC samples of p(z | x) (chains start at
  the encoder mean; burn-in with adaptation), a full-covariance Gaussian fitted to the first half of the
  samples, then log p(x) = -log mean_l q(z_l) / p(x, z_l) over fresh samples. Beside it the importance-
  sampled estimate with q(z | x) as proposal (numpyvae.evaluation), not available for MCEM, which trains no
  recognition model.
- **Plain autoencoder** (`ae` command; method `autoencoder`, numpyvae.models.Autoencoder): the VAE's
  encoder MLP with one code head where the VAE has mu and logvar, and the same decoder, trained on its
  reconstruction loss (Bernoulli cross-entropy for MNIST; squared error with an identity output for
  Frey Faces) with the same step-size choice, weight decay, initialisation and budget as AEVB.
- **Evaluation.** The lower bound (L = 1, a seeded draw) on the training and test sets at log-spaced sample
  counts; intermediate points may use the first `--eval-points` of each set, the final point always uses
  the whole sets.
- **Resumability.** Every run checkpoints (parameters, optimiser slots, chains, generator state, position
  in the epoch, records) after each evaluation and every two minutes to `<out>/runs/<run>/`; re-running the
  same command resumes, and a larger `--budget` extends the runs. An interrupted run ends with exactly the
  numbers of an uninterrupted one (tests/test_repro_loop.py).

Ground truth for the estimators (tests/test_repro_marginal_likelihood.py): a VAE whose decoder is linear
with a per-pixel log-variance head set to weights 0 and bias log sigma^2 *is* probabilistic PCA; with the
ML PPCA parameters and the exact posterior as encoder the importance weights are constant and equal the
exact log p(x) (numpyvae.evaluation.linear_gaussian); with a poor encoder the importance-sampled estimate converges
to it within its standard error; the appendix-D estimator recovers it to within 0.03 nat on average; a
linear VAE trained by SGVB reaches the PPCA optimum; Monte Carlo EM climbs to it.
"""


def _read(path):
    return Path(path).read_text() if Path(path).exists() else None


def _copy_figures(src_dir, dst_dir, names):
    out = []
    for n in names:
        src = Path(src_dir) / n
        if src.exists():
            dst = Path(dst_dir) / f"{Path(src_dir).name}_{n}"
            shutil.copyfile(src, dst)
            out.append(dst)
    return out


def write_report(out, docs):
    """Write ``<docs>/reproduction.md`` from ``<out>``; returns its path."""
    out, docs = Path(out), Path(docs)
    fig_dst = docs / "figures" / "reproduction"
    fig_dst.mkdir(parents=True, exist_ok=True)
    parts = ["# Reproducing Kingma & Welling 2013, \"Auto-Encoding Variational Bayes\"", "",
             "Regenerate everything below with the commands listed per figure (run from the repository root,",
             "with `NUMPYVAE_DATA` pointing at the data sets), then `python -m numpyvae.reproduce report`.",
             "Each command resumes from its checkpoints, so the paper's full budget is the same command with",
             "`--budget 1e8` (hours to days on a two-core machine; the paper reports 20-40 minutes per million",
             "samples on its CPU).", "",
             f"Machine of these runs: {platform.machine()}, Python {platform.python_version()}; wall times are "
             "training time only (evaluation excluded), on a shared two-core machine (one BLAS thread per process, two processes at a time; full VB under heavier load).", "",
             PROTOCOL]

    def rel(p):
        return Path(p).relative_to(docs).as_posix()

    def command(name):
        c = _read(out / name / "command.txt")
        return f"```\n{c.strip()}\n```\n" if c else "(not run yet)\n"

    parts.append("## Figure 2: lower bound vs. training samples\n")
    for data in ("mnist", "frey"):
        d = out / "fig2"
        table = _read(d / f"{data}_table.md")
        parts.append(f"### {'MNIST' if data == 'mnist' else 'Frey Faces'}\n")
        parts.append(command(f"fig2/{data}"))
        if table is None:
            continue
        figs = _copy_figures(d, fig_dst, [f"{data}.png"])
        parts += [f"![Figure 2, {data}]({rel(f)})" for f in figs] + ["", table,
                  f"Curves: `{(d / f'{data}_curves.csv').as_posix()}` (every evaluation of every run).", ""]

    parts.append("## Figure 3: marginal likelihood vs. training samples\n")
    parts.append(command("fig3"))
    t3 = _read(out / "fig3" / "table.md")
    if t3:
        parts += [f"![Figure 3]({rel(f)})" for f in _copy_figures(out / "fig3", fig_dst, ["fig3.png"])] + ["", t3]

    parts.append("## Figure 4: learned 2-D manifolds\n")
    parts.append(command("fig4"))
    for f in _copy_figures(out / "fig4", fig_dst, ["frey_manifold.png", "mnist_manifold.png"]):
        parts.append(f"![{f.stem}]({rel(f)})")
    s4 = _read(out / "fig4" / "summary.json")
    if s4:
        for r in json.loads(s4)["runs"]:
            parts.append(f"\n- {r['data']}: {r['samples']:.3g} samples, lower bound train {r['train_bound']:.1f}, "
                         f"test {r['test_bound']:.1f}")
    parts.append("")

    parts.append("## Figure 5: random samples\n")
    parts.append(command("fig5"))
    s5 = _read(out / "fig5" / "summary.json")
    if s5:
        s5 = json.loads(s5)
        for r in s5["runs"]:
            for f in _copy_figures(out / "fig5", fig_dst, [f"{s5['data']}_nz{r['nz']}_samples.png"]):
                parts.append(f"![N_z = {r['nz']}]({rel(f)}) N_z = {r['nz']} ({r['samples']:.3g} samples, "
                             f"test bound {r['test_bound']:.1f})\n")
    parts.append("")

    parts.append("## Appendix F: full variational Bayes over the parameters\n")
    parts.append(command("fullvb"))
    tf = _read(out / "fullvb" / "table.md")
    if tf:
        sf = json.loads(_read(out / "fullvb" / "summary.json"))
        parts += [f"![full VB]({rel(f)})" for f in _copy_figures(out / "fullvb", fig_dst,
                                                                   [f"{sf['data']}_nz{sf['nz']}.png"])] + ["", tf]

    parts.append("## A plain autoencoder with the same layers: reconstructions\n")
    for data in ("mnist", "frey"):
        table = _read(out / "ae" / f"{data}_table.md")
        if table is None:
            continue
        parts.append(f"### {'MNIST' if data == 'mnist' else 'Frey Faces'}\n")
        parts.append(command(f"ae/{data}"))
        rows = json.loads(_read(out / "ae" / f"{data}_summary.json"))["rows"]
        shown = [r["nz"] for r in rows if r["nz"] <= 20][-1:] or [rows[-1]["nz"]]
        for f in _copy_figures(out / "ae", fig_dst, [f"{data}_nz{nz}_reconstructions.png" for nz in shown]):
            parts.append(f"![{f.stem}]({rel(f)})")
        parts += ["", table]

    limits = _read(docs / "reproduction_limits.md")
    if limits:
        parts += ["", limits]
    path = docs / "reproduction.md"
    path.write_text("\n".join(parts).rstrip() + "\n")
    return path
