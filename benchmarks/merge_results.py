"""Join the measurements of several ``run.py`` runs into one report.

On a shared machine a quiet minute is rare, and two-thread timings mean something only when the
other processes leave both cores alone. Such rows can be timed one configuration at a time, each in
its own quiet window (``run.py --threads 2 --dtype D --configs C ... --out F.md``, which also writes
``F.json``), and joined here into one Markdown report (and plot) that names every command. Each
configuration's rows stay what they were: measured side by side, interleaved, in one run; a
configuration found in several runs is kept from the quietest.

    python benchmarks/merge_results.py --out benchmarks/results/joined.md a.json b.json ...
"""

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import report  # noqa: E402
from benchmarks.configs import CONFIGS  # noqa: E402


def merge(raws):
    """``{(threads, dtype): (info, results)}`` from run.py's JSON dicts, configurations in suite order.

    A configuration measured in several runs (a retry after a loaded one) appears once: the run in
    which other processes used the fewest cores."""
    sections = {}
    for raw in raws:
        for key, info, results in raw["sections"]:
            key = tuple(key)
            if key not in sections:
                sections[key] = (info, [])
            kept = sections[key][1]
            for res in results:
                same = [i for i, r in enumerate(kept) if r["config"] == res["config"]]
                if not same:
                    kept.append(res)
                elif res.get("others_cpu", float("inf")) < kept[same[0]].get("others_cpu", float("inf")):
                    kept[same[0]] = res
    order = list(CONFIGS)
    for _, results in sections.values():
        results.sort(key=lambda r: order.index(r["config"]) if r["config"] in order else len(order))
    return dict(sorted(sections.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="JSON files written by run.py --out")
    parser.add_argument("--out", required=True, help="Markdown file for the joined report (a PNG beside it)")
    parser.add_argument("--title", default="numpyvae vs PyTorch, JAX and HIPS autograd: training-step timings "
                                           "(joined runs)")
    args = parser.parse_args(argv)
    raws = [json.loads(Path(f).read_text()) for f in args.files]
    sections = merge(raws)
    header = [f"# {args.title}", "",
              f"Joined by `python benchmarks/merge_results.py --out {args.out} {' '.join(args.files)}` from "
              f"{len(raws)} runs of run.py, each configuration's rows measured side by side in one of them:", ""]
    header += [f"- `{raw['command']}`" for raw in raws]
    text = report.markdown(header, sections, {}, "")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(
        {"commands": [raw["command"] for raw in raws],
         "sections": [[list(k), info, results] for k, (info, results) in sections.items()]}))
    report.plot(sections, out.with_suffix(".png"))
    print(f"wrote {out}, {out.with_suffix('.png')} and {out.with_suffix('.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
