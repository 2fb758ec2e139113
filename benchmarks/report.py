"""Markdown tables and a PNG plot from the measurements of run.py."""

import math

from .correctness import TOLERANCE

REF_ROW = "numpyvae"
FLOOR_ROW = "gemm-floor"
STREAM_ROW = "stream-pass"
"""One in-place pass over the flat parameter vector; times ADAM_STREAMS / PASS_STREAMS it is the
optimizer's streaming floor (see benchmarks/floor.py)."""
NOT_ROWS = (FLOOR_ROW, STREAM_ROW)


def _ms(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "–"
    return f"{seconds * 1e3:.3g}" if seconds < 1e-2 else f"{seconds * 1e3:.1f}"


def _ratio(value, base):
    if value is None or base is None or not base:
        return "–"
    return f"{value / base:.2f}×"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _rows_in(results):
    order = []
    for res in results:
        for row in list(res["check"]) + list(res["times"]):
            if row not in order and row not in NOT_ROWS:
                order.append(row)
    return order


def _median(res, row, kind="step", key="median"):
    return res["times"].get(row, {}).get(kind, {}).get(key)


def update_floor(res, key="median"):
    """The optimizer's streaming floor: Adam moves ADAM_STREAMS parameter-sized arrays, at the
    bandwidth of the timed pass (which moves PASS_STREAMS); None when it was not timed."""
    from .floor import ADAM_STREAMS, PASS_STREAMS

    t = _median(res, STREAM_ROW, key=key)
    return None if t is None else t * ADAM_STREAMS / PASS_STREAMS


def step_floor(res, key="median"):
    """The step's floor: its matrix products (GEMM floor) plus the optimizer's streaming floor."""
    gemm, stream = _median(res, FLOOR_ROW, key=key), update_floor(res, key)
    if gemm is None:
        return None
    return gemm + (stream or 0.0)


RATIO_ROWS = (("jax jit", "numpyvae / JAX jit"), ("torch", "numpyvae / PyTorch eager"),
              ("torch fused-Adam", "numpyvae / PyTorch fused Adam"))


def ratio_table(sections):
    """The targets' view: one line per (dtype, threads, configuration) with numpyvae's step over each
    framework's, over the floor, and the Adagrad step over the Adam step, all from one run.

    One thread: process-CPU medians; two or more threads: wall medians."""
    header = ["dtype, threads", "config", "B", "numpyvae ms"] + [label for _, label in RATIO_ROWS] + [
        "numpyvae / floor (GEMMs + Adam stream)", "Adagrad / Adam", "others' load"]
    body = []
    for (threads, dtype), (_, results) in sections.items():
        key = "cpu_median" if threads == 1 else "median"
        for res in results:
            base = _median(res, REF_ROW, key=key)
            cells = [f"{dtype}, {threads}", res["config"], res["batch_size"], _ms(base)]
            for row, _ in RATIO_ROWS:
                t = _median(res, row, key=key)
                cells.append(f"{base / t:.2f}" if t and base else "–")
            fl = step_floor(res, key)
            cells.append(f"{base / fl:.2f}" if fl and base else "–")
            ada = _median(res, "numpyvae Adagrad", key=key)
            cells.append(f"{ada / base:.2f}" if ada and base else "–")
            cells.append(f"{res.get('others_cpu', float('nan')):.2f}")
            body.append(cells)
    return _table(header, body)


def summary_table(results, key="median"):
    """Rows: configurations; columns: median ms per step and ratio to numpyvae, per row.

    ``key`` is "median" (wall time) or "cpu_median" (process CPU time).
    """
    rows_order = _rows_in(results)
    header = (["config", "model", "B"] + [f"{r} ms (×np)" for r in rows_order]
              + ["GEMM floor ms", "Adam stream floor ms", "others' load"])
    body = []
    for res in results:
        base = _median(res, REF_ROW, key=key)
        cells = [res["config"], res["label"], res["batch_size"]]
        for row in rows_order:
            check = res["check"].get(row)
            if check is not None and not check["ok"]:
                cells.append("disagrees")
                continue
            t = _median(res, row, key=key)
            cells.append(f"{_ms(t)} ({_ratio(t, base)})" if t is not None else "–")
        cells.append(_ms(_median(res, FLOOR_ROW, key=key)))
        cells.append(_ms(update_floor(res, key)))
        cells.append(f"{res.get('others_cpu', float('nan')):.2f}")
        body.append(cells)
    return _table(header, body)


def detail_table(res):
    """One configuration: step and gradient timings, ratios, floor multiple, CPU use, compile."""
    base_step, base_grad = _median(res, REF_ROW), _median(res, REF_ROW, "grad")
    floor = step_floor(res)
    header = ["implementation", "step ms median", "step min–max", "step ×numpyvae", "step ×floor (GEMMs + stream)",
              "step CPU ms median (min–max)", "grad ms median", "grad min–max", "grad ×numpyvae",
              "grad CPU ms median", "CPU/wall", "compile s"]
    body = []
    for row in _rows_in([res]):
        check = res["check"][row]
        if not check["ok"]:
            body.append([row, "**disagrees:** " + "; ".join(check["problems"][:3])] + [""] * 10)
            continue
        step = res["times"][row]["step"]
        grad = res["times"][row].get("grad")
        compile_s = res["compile_s"].get(row) or {}
        body.append([
            row, _ms(step["median"]), f"{_ms(step['min'])}–{_ms(step['max'])}",
            _ratio(step["median"], base_step), _ratio(step["median"], floor),
            f"{_ms(step['cpu_median'])} ({_ms(step['cpu_min'])}–{_ms(step['cpu_max'])})",
            _ms(grad["median"]) if grad else "–",
            f"{_ms(grad['min'])}–{_ms(grad['max'])}" if grad else "–",
            _ratio(grad["median"], base_grad) if grad else "–",
            _ms(grad["cpu_median"]) if grad else "–",
            f"{step['cpu_per_wall']:.2f}",
            " / ".join(f"{k} {v:.2f}" for k, v in compile_s.items()) or "–",
        ])
    fl = res["times"][FLOOR_ROW]["step"]
    body.append([FLOOR_ROW, _ms(fl["median"]), f"{_ms(fl['min'])}–{_ms(fl['max'])}",
                 _ratio(fl["median"], base_step), _ratio(fl["median"], floor),
                 f"{_ms(fl['cpu_median'])} ({_ms(fl['cpu_min'])}–{_ms(fl['cpu_max'])})",
                 "", "", "", "", f"{fl['cpu_per_wall']:.2f}", ""])
    stream = res["times"].get(STREAM_ROW, {}).get("step")
    if stream:
        from .floor import ADAM_STREAMS, PASS_STREAMS

        f = ADAM_STREAMS / PASS_STREAMS
        body.append([f"Adam stream floor ({STREAM_ROW} × {ADAM_STREAMS}/{PASS_STREAMS})",
                     _ms(stream["median"] * f), f"{_ms(stream['min'] * f)}–{_ms(stream['max'] * f)}",
                     _ratio(stream["median"] * f, base_step), _ratio(stream["median"] * f, floor),
                     f"{_ms(stream['cpu_median'] * f)}", "", "", "", "", f"{stream['cpu_per_wall']:.2f}", ""])
    return _table(header, body)


def check_table(results, dtype):
    """Worst relative errors against the reference, per configuration and row."""
    rows_order = _rows_in(results)
    header = ["config"] + [f"{r} loss / grad / Adam" for r in rows_order]
    body = []
    for res in results:
        cells = [res["config"]]
        for row in rows_order:
            c = res["check"].get(row)
            if c is None:
                cells.append("–")
                continue
            mark = "ok" if c["ok"] else "**FAIL**"
            cells.append(f"{c['loss_err']:.0e} / {c['grad_err']:.0e} / {c['adam_err']:.0e} {mark}")
        body.append(cells)
    return f"Tolerance {TOLERANCE[dtype]:.0e} (see benchmarks/correctness.py).\n\n" + _table(header, body)


def memory_table(memory):
    header = ["implementation", "dtype", "RSS after import MiB", "peak RSS in training MiB",
              "peak − import MiB"]
    body = []
    for (row, dtype), m in memory.items():
        if "error" in m:
            body.append([row, dtype, m["error"], "", ""])
        else:
            body.append([row, dtype, f"{m['import_mib']:.0f}", f"{m['peak_mib']:.0f}",
                         f"{m['train_mib']:.1f}"])
    return _table(header, body)


def markdown(header_lines, sections, memory, memory_note):
    """The full report: header, then per (threads, dtype) a summary, checks and details."""
    out = list(header_lines)
    out += ["", "## Ratios (numpyvae's step time over the other's; below 1: numpyvae is faster)", "",
            "One thread: median process-CPU ms; two threads: median wall ms; every ratio from one "
            "interleaved measurement. *Floor*: the step's matrix products (GEMM floor) plus Adam's "
            "streaming floor. *Adagrad / Adam*: numpyvae's step with the reproduction's Adagrad "
            "(weight decay 1/N) over its step with Adam.", "", ratio_table(sections)]
    for (threads, dtype), (info, results) in sections.items():
        out += ["", f"## {dtype}, {threads} thread{'s' if threads > 1 else ''}", ""]
        out.append(f"Cores: {info['cores']}; reference: {info['reference']}; numpy BLAS: "
                   f"{info.get('numpy_blas', '?')}, GEMM peak (1024² {dtype}): "
                   f"{info['peak_gflops'][dtype]:.0f} GFLOP/s.")
        for row, reason in info["missing"].items():
            out.append(f"Not measured: {row} ({reason}).")
        out += ["", "### Training step, median wall ms (ratio to numpyvae in the same run)", "",
                summary_table(results)]
        if threads == 1:
            out += ["", "### Training step, median process-CPU ms, one thread", "",
                    "With one thread, CPU time is close to the wall time the step would take on "
                    "an unshared core: it leaves out the time spent waiting for the core while "
                    "other processes ran (not their effect on caches).", "",
                    summary_table(results, key="cpu_median")]
        out += ["", "### Agreement with the reference", "",
                check_table(results, dtype)]
        for res in results:
            out += ["", f"### {res['config']}: {res['label']}, batch {res['batch_size']}, "
                        f"L={res['n_samples']}, {dtype}, {threads} thread(s)", "",
                    f"Data: {res.get('data', 'synthetic')}. "
                    f"Step FLOPs in matrix products: {res['flops'] / 1e9:.3g} GFLOP; "
                    f"{len(res['times'][FLOOR_ROW]['step']['rounds'])} rounds; other processes "
                    f"used {res['others_cpu']:.2f} cores meanwhile"
                    + (f" (the quietest of {res['attempts']} timings)" if res.get("attempts", 1) > 1 else "")
                    + ".", "",
                    detail_table(res)]
    if memory:
        out += ["", "## Peak resident memory", "", memory_note, "", memory_table(memory)]
    return "\n".join(out) + "\n"


def plot(sections, path):
    """Per (dtype, threads): ms per step (markers, log scale) and the ratio to numpyvae (bars)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(sections)
    fig, axes = plt.subplots(len(keys), 2, figsize=(15, 3.8 * len(keys)), squeeze=False,
                             gridspec_kw={"width_ratios": [3, 2]})
    markers = "osD^vP*X"
    for (ax_ms, ax_ratio), key in zip(axes, keys):
        results = sections[key][1]
        rows_order = _rows_in(results)
        ticks = [f"{r['config']}\nB={r['batch_size']}" for r in results]
        n = len(rows_order)
        for j, row in enumerate(rows_order):
            offset = (j - (n - 1) / 2) * 0.8 / max(n, 1)
            pts = [(i + offset, _median(res, row), _median(res, REF_ROW))
                   for i, res in enumerate(results) if _median(res, row) is not None]
            if not pts:
                continue
            xs, ts, bases = zip(*pts)
            ax_ms.plot(xs, [t * 1e3 for t in ts], markers[j % len(markers)], label=row, ms=7)
            ratios = [(x, t / b) for x, t, b in pts if b]
            if ratios:
                ax_ratio.bar([x for x, _ in ratios], [r for _, r in ratios], 0.8 / n, label=row,
                             color=f"C{j}")
        floors = [_median(res, FLOOR_ROW) for res in results]
        ax_ms.hlines([f * 1e3 for f in floors], [i - 0.45 for i in range(len(results))],
                     [i + 0.45 for i in range(len(results))], colors="k", linestyles="--",
                     label="GEMM floor (numpy)")
        ax_ms.set_yscale("log")
        ax_ms.set_ylabel("ms per training step")
        ax_ratio.axhline(1.0, color="k", lw=0.8)
        ax_ratio.set_ylabel("time / numpyvae's time")
        for ax in (ax_ms, ax_ratio):
            ax.set_xticks(range(len(results)))
            ax.set_xticklabels(ticks, fontsize=8)
            ax.grid(axis="y", which="both", alpha=0.3)
            ax.set_title(f"{key[1]}, {key[0]} thread(s)")
        ax_ms.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
