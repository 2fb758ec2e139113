"""docs/reproduction.md, assembled from files: ``docs/reproduction/`` and the figure folders under ``--out``.

It leads with Figure 2 at a glance (every panel's AEVB test bound beside the paper's), then the
curves against the paper's, Figure 3 and Monte Carlo EM, Figures 4 and 5, full VB and the
autoencoder, the wall time per run and the machine, the protocol, and what falls short. Figure 2
(and Figure 3 once collected) comes from ``docs/reproduction/`` as ``collect``
(:mod:`numpyvae.reproduce.collect`) wrote it; the other figures from their command's folder under
``--out`` (copied to ``docs/figures/reproduction/``), or, when that folder is gone, from the copy of
the section saved the last time it was there. Every table and number comes from those files; the
prose about causes is ``docs/reproduction_limits.md``, written by people.
"""
import json
import shutil
from pathlib import Path

from . import paper
from .tables import read_rows
from .compare import CURVE_LABEL, DATA_TITLE, TABLE_CURVES, fmt, fmt_samples


PROTOCOL = """\
## Protocol

What the paper states, and how we implement it (numpyvae.reproduce.runs, numpyvae.algorithms, numpyvae.training):

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
  counts (six per decade); intermediate points may use the first `--eval-points` of each set, the final
  point always uses the whole sets.
- **Comparison with the paper.** The paper's Figure 2 curves come from its PDF's vector paths
  (numpyvae/reproduce/paper_fig2.csv, a copy of shared/reference/kingma_welling_2013_fig2.csv: about
  +-0.1 nat on MNIST, +-2 on Frey Face), at 1e5, 3e5, 1e6, 3e6, 1e7, 3e7 and 1e8 samples. At equal
  budget, our value is read off our own curve (linear in log samples between two of our evaluations,
  never extrapolated) and the paper's off its drawn curve (straight in log x between its points). At
  small budgets the paper's *train* curve lies well below its *test* curve (e.g. Frey Face N_z = 2 at
  1e5), as a running average of the training objective over the past epoch would; the paper does not
  say how it computed it, so the test curves are the like-for-like comparison early on.
- **Resumability.** Every run checkpoints (parameters, optimiser slots, chains, generator state, position
  in the epoch, records) after each evaluation and every two minutes to `<out>/runs/<run>/`; re-running the
  same command resumes, and a larger `--budget` extends the runs. An interrupted run ends with exactly the
  numbers of an uninterrupted one (tests/test_engine.py, tests/test_train.py).

Ground truth for the estimators (tests/test_repro_marginal_likelihood.py): a VAE whose decoder is linear
with a per-pixel log-variance head set to weights 0 and bias log sigma^2 *is* probabilistic PCA; with the
ML PPCA parameters and the exact posterior as encoder the importance weights are constant and equal the
exact log p(x) (numpyvae.evaluation.linear_gaussian); with a poor encoder the importance-sampled estimate converges
to it within its standard error; the appendix-D estimator recovers it to within 0.03 nat on average; a
linear VAE trained by SGVB reaches the PPCA optimum; Monte Carlo EM climbs to it.
"""



SECTIONS = "sections"
"""``<docs>/reproduction/sections/<name>.md``: the last rendering of each section drawn from a figure
folder under ``--out`` (Figures 3 to 5, full VB, the autoencoder), kept so that a later report
without those folders still shows them."""


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


def _num(v):
    """A number from a CSV cell, None for an empty one."""
    return None if v in (None, "") else float(v)


class _Context:
    def __init__(self, out, docs):
        self.out, self.docs = Path(out), Path(docs)
        self.repro = self.docs / "reproduction"
        self.fig_dst = self.docs / "figures" / "reproduction"

    def rel(self, p):
        return Path(p).relative_to(self.docs).as_posix()

    def command(self, name):
        c = _read(self.out / name / "command.txt")
        return f"```\n{c.strip()}\n```\n" if c else "(not run yet)\n"

    def section(self, name, render):
        """A section from its figure folder under ``out`` (and saved), else its saved copy, else None."""
        text = render(self)
        saved = self.repro / SECTIONS / f"{name}.md"
        if text is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(text)
            return text
        return _read(saved)


# ------------------------------------------------------------------------------------------ Figure 2
def _lead(ctx, collected):
    lead = _read(ctx.repro / "fig2_lead.md")
    if lead is None:
        return ["## Figure 2 at a glance\n", "No runs collected yet: run `python -m numpyvae.reproduce collect "
                "--out <runs folder> --docs docs` first.\n"]
    return ["## Figure 2 at a glance: AEVB test bound, ours beside the paper's\n",
            "Every panel of the paper's Figure 2, at the largest budget that our curve and the paper's share "
            "(our last evaluation, at most the paper's 1e8 samples): ours, the paper's (read off its drawn curve), "
            "ours minus the paper's, and the target for 1e8 samples (within 1 nat of the paper on MNIST, 20 nats on Frey Face). "
            f"Collected {collected.get('collected_at', 'n/a')} from the run folders as they were then; a run "
            "\"in progress\" had not reached its budget.\n", lead]


def _figure2(ctx):
    parts = ["## Figure 2: our curves against the paper's\n",
             "Solid: our train bound; dashed: our test bound; dotted with markers: the paper's curves in the same "
             "colour (circles train, crosses test), from its PDF's vector paths. Where we are above a dotted curve "
             "we are above the paper at that budget. The y-range covers the budgets from 1e6 on (earlier points lie "
             "below it).\n"]
    command = _read(ctx.repro / "command.txt")
    if command:
        parts.append(f"Collected with\n```\n{command.strip()}\n```\n")
    for data, title in (("mnist", "MNIST"), ("frey", "Frey Face")):
        table = _read(ctx.repro / f"fig2_{data}_table.md")
        if table is None:
            continue
        panels = sorted(ctx.repro.glob(f"fig2_{data}_nz*.png"), key=lambda q: int(q.stem.rsplit("nz", 1)[1]))
        parts += [f"### {title}\n", f"![Figure 2, {title}]({ctx.rel(ctx.repro / f'fig2_{data}.png')})\n",
                  "One panel per image: " + ", ".join(f"[N_z = {q.stem.rsplit('nz', 1)[1]}]({ctx.rel(q)})"
                                                       for q in panels) + "\n", table]
    parts.append(f"Every evaluation of every run: `{ctx.rel(ctx.repro / 'fig2_curves.csv')}` (columns "
                 "`data,n_z,method,split,samples,bound`, as in the paper's reference file); the equal-budget numbers: "
                 f"`{ctx.rel(ctx.repro / 'fig2_equal_budget.csv')}`.\n")
    parts += _earlier(ctx)
    return parts


EARLIER = "fig2_1e6_earlier.csv"


def _earlier(ctx):
    """The final values of the earlier 1e6-sample runs of every panel, beside the paper at 1e6."""
    rows = read_rows(ctx.repro / EARLIER)
    if not rows:
        return []
    by = {(r["data"], int(r["n_z"]), r["method"], r["split"]): _num(r["bound"]) for r in rows}
    samples = int(float(rows[0]["samples"]))
    lines = [f"### Earlier runs: every panel to {fmt_samples(samples)} samples\n",
             f"The final values of the {fmt_samples(samples)}-sample runs of every panel (commit fec7664, "
             "`--pilot 3e3 --eval-points 1000`; their run folders are gone, their values are in "
             f"`{ctx.rel(ctx.repro / EARLIER)}`), beside the paper's curves at the same budget."
             + "".join(f" Their curves, {DATA_TITLE[d]}: [{ctx.rel(q)}]({ctx.rel(q)}) (the grey line there is the "
                       "hand-read final AEVB test value used then)." for d in ("mnist", "frey")
                       for q in [ctx.fig_dst / f"fig2_{d}.png"] if q.exists())
             + "\n",
             "| data | N_z | " + " | ".join(f"{CURVE_LABEL[c]}: ours | paper | diff" for c in TABLE_CURVES) + " |",
             "|---|---|" + "---|---|---|" * len(TABLE_CURVES)]
    for data in ("mnist", "frey"):
        for nz in paper.FIG2_NZ[data]:
            cells = []
            for m, split in TABLE_CURVES:
                ours = by.get((data, nz, m, split))
                ref = paper.fig2_value(data, nz, m, split, samples)
                cells += [fmt(ours), fmt(ref), fmt(None if ours is None or ref is None else ours - ref, signed=True)]
            if any(c != "n/a" for c in cells[::3]):
                lines.append(f"| {DATA_TITLE[data]} | {nz} | " + " | ".join(cells) + " |")
    return ["\n".join(lines) + "\n"]


# ------------------------------------------------------------------------------------------ other figures
def _fig3_from_out(ctx):
    t3 = _read(ctx.out / "fig3" / "table.md")
    if not t3:
        return None
    figs = _copy_figures(ctx.out / "fig3", ctx.fig_dst, ["fig3.png"])
    return "\n".join(["## Figure 3: marginal likelihood vs. training samples\n", ctx.command("fig3")]
                     + [f"![Figure 3]({ctx.rel(f)})" for f in figs] + ["", t3])


def _figure3(ctx):
    t3 = _read(ctx.repro / "fig3_table.md")
    if t3 is not None:                                  # collected from the run folders
        parts = ["## Figure 3: marginal likelihood vs. training samples\n"]
        if (ctx.repro / "fig3.png").exists():
            parts.append(f"![Figure 3]({ctx.rel(ctx.repro / 'fig3.png')})\n")
        parts += [t3, f"Every estimate: `{ctx.rel(ctx.repro / 'fig3_estimates.csv')}`.\n"]
        return parts
    text = ctx.section("fig3", _fig3_from_out)
    return [text] if text else ["## Figure 3: marginal likelihood vs. training samples\n", "(not run yet)\n"]


def _mcem(ctx):
    parts = ["## Monte Carlo EM\n"]
    est = [r for r in read_rows(ctx.repro / "fig3_estimates.csv") if r["method"] == "mcem" and r["estimator"] == "hmc"]
    if est:
        lines = ["Appendix-D estimates of log p(x) along training (collected runs), beside the paper's final value:", "",
                 "| N_train | split | " + " | ".join(["samples", "estimate"]) + " | paper (final) |", "|---|---|---|---|---|"]
        for r in est:
            ref = (paper.FIG3.get(int(r["n_train"]), {}).get("mcem") or (None, None))[r["split"] == "test"]
            lines.append(f"| {r['n_train']} | {r['split']} | {fmt_samples(int(float(r['samples'])))} | "
                         f"{fmt(_num(r['log_px']))} | {fmt(ref)} |")
        parts.append("\n".join(lines) + "\n")
    elif (ctx.repro / "fig3_table.md").exists():           # Figure 3 collected, but no MCEM run in it yet
        parts.append("No Monte Carlo EM run has been collected yet: the Figure 3 table above has none. What its "
                     "estimate did before the fix, and the fix, are below.\n")
    else:
        parts.append("MCEM's estimates are the MCEM rows of the Figure 3 table above.\n")
    notes = _read(ctx.repro / "mcem.md")
    if notes:
        parts.append(notes)
    return parts


def _fig4_from_out(ctx):
    s4 = _read(ctx.out / "fig4" / "summary.json")
    if not s4:
        return None
    parts = ["## Figure 4: learned 2-D manifolds\n", ctx.command("fig4")]
    for f in _copy_figures(ctx.out / "fig4", ctx.fig_dst, ["frey_manifold.png", "mnist_manifold.png",
                                                           "synthetic_manifold.png"]):
        parts.append(f"![{f.stem}]({ctx.rel(f)})")
    for r in json.loads(s4)["runs"]:
        parts.append(f"\n- {r['data']}: {r['samples']:.3g} samples, lower bound train {r['train_bound']:.1f}, "
                     f"test {r['test_bound']:.1f}")
    return "\n".join(parts) + "\n"


def _fig5_from_out(ctx):
    s5 = _read(ctx.out / "fig5" / "summary.json")
    if not s5:
        return None
    s5 = json.loads(s5)
    parts = ["## Figure 5: random samples\n", ctx.command("fig5")]
    for r in s5["runs"]:
        for f in _copy_figures(ctx.out / "fig5", ctx.fig_dst, [f"{s5['data']}_nz{r['nz']}_samples.png"]):
            parts.append(f"![N_z = {r['nz']}]({ctx.rel(f)}) N_z = {r['nz']} ({r['samples']:.3g} samples, "
                         f"test bound {r['test_bound']:.1f})\n")
    return "\n".join(parts) + "\n"


def _fullvb_from_out(ctx):
    tf = _read(ctx.out / "fullvb" / "table.md")
    if not tf:
        return None
    sf = json.loads(_read(ctx.out / "fullvb" / "summary.json"))
    figs = _copy_figures(ctx.out / "fullvb", ctx.fig_dst, [f"{sf['data']}_nz{sf['nz']}.png"])
    return "\n".join(["## Appendix F: full variational Bayes over the parameters\n", ctx.command("fullvb")]
                     + [f"![full VB]({ctx.rel(f)})" for f in figs] + ["", tf])


def _ae_from_out(ctx):
    parts = []
    for data in ("mnist", "frey", "synthetic"):
        table = _read(ctx.out / "ae" / f"{data}_table.md")
        if table is None:
            continue
        parts.append(f"### {DATA_TITLE.get(data, data)}\n")
        parts.append(ctx.command(f"ae/{data}"))
        rows = json.loads(_read(ctx.out / "ae" / f"{data}_summary.json"))["rows"]
        shown = [r["nz"] for r in rows if r["nz"] <= 20][-1:] or [rows[-1]["nz"]]
        for f in _copy_figures(ctx.out / "ae", ctx.fig_dst, [f"{data}_nz{nz}_reconstructions.png" for nz in shown]):
            parts.append(f"![{f.stem}]({ctx.rel(f)})")
        parts += ["", table]
    if not parts:
        return None
    return "\n".join(["## A plain autoencoder with the same layers: reconstructions\n"] + parts)


# ------------------------------------------------------------------------------------------ runs, shortfalls
def _runs(ctx, collected):
    parts = ["## Wall time per run, and the machine\n"]
    runs = _read(ctx.repro / "runs.md")
    if runs:
        parts += ["Training time excludes evaluation; \"evaluated to\" is the last evaluation in the run's log, "
                  "\"checkpoint at\" how far its last checkpoint had got when collected.\n", runs]
    if collected.get("machines"):
        parts.append("Where these runs trained (a run's machine is in the table's last column):\n")
        parts += [f"- {name}" + (f": {note}" if note else "") for name, note in collected["machines"].items()]
        parts.append(f"\nCollected on: {collected.get('collected_on', 'n/a')}.\n")
    elif collected:
        where = collected.get("machine") or "not recorded (`collect --machine` records it)"
        parts.append(f"Where these runs trained: {where}. Collected on: {collected.get('collected_on', 'n/a')}.\n")
    return parts


def _range(values, signed=True):
    values = [v for v in values if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    return fmt(lo, signed=signed) if lo == hi else f"{fmt(lo, signed=signed)} to {fmt(hi, signed=signed)}"


def _shortfalls(ctx):
    """What falls short, in sentences whose every number comes from the collected files."""
    out = []
    lead = read_rows(ctx.repro / "fig2_lead.csv")
    at_target = [r for r in lead if r["verdict"] == "within target"]
    missing = [r for r in lead if r["verdict"].startswith("misses")]
    short = [r for r in lead if r["verdict"] == "not at 1e8 yet"]
    none = [r for r in lead if r["status"] == "no run"]

    def panel(r):
        return f"{DATA_TITLE.get(r['data'], r['data'])} N_z = {r['n_z']}"
    if lead:
        out.append(f"- **Figure 2, AEVB test bound at 1e8 samples:** {len(at_target)} of {len(lead)} panels within "
                   f"target (+-{paper.FIG2_TARGET['mnist']:g} nat on MNIST, +-{paper.FIG2_TARGET['frey']:g} on "
                   "Frey Face)" + (": " + ", ".join(panel(r) for r in at_target) if at_target else "") + ".")
    for r in missing:
        out.append(f"  - {panel(r)} misses: {fmt(_num(r['ours']))} against {fmt(_num(r['paper']))} "
                   f"({fmt(_num(r['diff']), signed=True)}), {r['verdict']}.")
    if short:
        out.append("  - Not at 1e8 yet: " + "; ".join(
            f"{panel(r)} at {fmt_samples(int(float(r['samples'])))} ({r['status']}), "
            f"{fmt(_num(r['diff']), signed=True)} nats from the paper's curve there" for r in short) + ".")
    if none:
        out.append("  - No run yet: " + ", ".join(panel(r) for r in none) + ".")
    eq = read_rows(ctx.repro / "fig2_equal_budget.csv")
    for data in ("mnist", "frey"):
        for (m, split) in TABLE_CURVES:
            rows = [r for r in eq if r["data"] == data and (r["method"], r["split"]) == (m, split) and r["diff"]]
            for b in sorted({int(r["samples"]) for r in rows}):
                diffs = [_num(r["diff"]) for r in rows if int(r["samples"]) == b]
                out.append(f"- {DATA_TITLE[data]} {CURVE_LABEL[m, split]} at {fmt_samples(b)} samples: ours minus "
                           f"the paper's {_range(diffs)} nats over {len(diffs)} panel(s).")
    earlier = read_rows(ctx.repro / EARLIER)
    if earlier:
        s = int(float(earlier[0]["samples"]))
        for data in ("mnist", "frey"):
            for (m, split) in TABLE_CURVES:
                diffs = []
                for r in earlier:
                    if (r["data"], r["method"], r["split"]) == (data, m, split):
                        ref = paper.fig2_value(data, int(r["n_z"]), m, split, s)
                        diffs.append(None if ref is None else _num(r["bound"]) - ref)
                rng = _range(diffs)
                if rng:
                    out.append(f"- Earlier {fmt_samples(s)} runs, {DATA_TITLE[data]} {CURVE_LABEL[m, split]}: ours "
                               f"minus the paper's at {fmt_samples(s)}: {rng} nats over the panels.")
    return out


def write_report(out, docs):
    """Write ``<docs>/reproduction.md`` from ``<docs>/reproduction/`` (written by ``collect``) and the figure
    folders under ``<out>``; returns its path."""
    ctx = _Context(out, docs)
    ctx.fig_dst.mkdir(parents=True, exist_ok=True)
    collected = json.loads(_read(ctx.repro / "collect.json") or "{}")
    parts = ["# Reproducing Kingma & Welling 2013, \"Auto-Encoding Variational Bayes\"", "",
             "Every number, table and figure below comes from files: Figure 2 (and Figure 3 where its runs were "
             "collected) from `docs/reproduction/`, which `python -m numpyvae.reproduce collect --out <runs folder>` "
             "writes from the run folders as they are, without training; the other sections from the figure "
             "commands' output (`--out`). `python -m numpyvae.reproduce report` then writes this page. The runs "
             "themselves train with the figure commands (`fig2 --data mnist --budget 1e8 --out <runs folder>`, ...), "
             "which resume from their checkpoints, so a larger `--budget` extends a run. Every run collected is also kept "
             "in `docs/reproduction/archive/` (its log and settings, no parameters), so runs that trained on another "
             "machine stay in the tables; one stopped there short of its budget is marked \"stopped\".", ""]
    parts += _lead(ctx, collected)
    parts += _figure2(ctx)
    parts += _figure3(ctx)
    parts += _mcem(ctx)
    for name, render in (("fig4", _fig4_from_out), ("fig5", _fig5_from_out), ("fullvb", _fullvb_from_out),
                         ("ae", _ae_from_out)):
        text = ctx.section(name, render)
        if text:
            parts.append(text)
    parts += _runs(ctx, collected)
    parts.append(PROTOCOL)
    parts.append("## What falls short, and why\n")
    parts.append("\n".join(_shortfalls(ctx)) + "\n")
    limits = _read(ctx.docs / "reproduction_limits.md")
    if limits:
        parts += ["", limits]
    variants = _read(ctx.docs / "reproduction" / "variants.md")
    if variants:
        parts += ["", "### Runs that change one setting (`reproduction/variants.md`)", "",
                  "Each run changes one of the paper's settings against the default run of its panel; test - "
                  "paper is our test bound minus the paper's test curve at the same budget.", "", variants]
    path = ctx.docs / "reproduction.md"
    path.write_text("\n".join(parts).rstrip() + "\n")
    return path
