#!/usr/bin/python3
"""Side-by-side runner (issue 4): ctnn against PyTorch on the seed workloads, interleaved.

    /usr/bin/python3 benchmarks/run_side_by_side.py BUILD/benchmarks/ctnn_reference
        [--workloads v0,v1,tinyvgg,binary,gan,infer_v0,infer_tinyvgg] [--repeat 3] [--threads 1]
        [--epochs 1] [--train-limit N] [--steps 200] [--reps 5000] [--json FILE]

Builds nothing: give it the ctnn_reference binary (cmake -DCTNN_BUILD_BENCHMARKS=ON, target ctnn_reference).
For each workload it runs ctnn, PyTorch, ctnn, PyTorch, ... (--repeat pairs), so that a machine whose load
changes during the run affects both alike, and prints the medians: seconds per epoch (training only, scaled to
the full training set under --train-limit; latency in microseconds for infer_*), the ratio PyTorch / ctnn
(above 1: ctnn is faster), the test accuracy of each and the peak RSS of each process.
--train-limit applies to v0, v1, tinyvgg and binary; --steps to gan; infer_* always run on one thread.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH = [sys.executable if sys.executable else "/usr/bin/python3", os.path.join(HERE, "reference", "pytorch_reference.py")]
ALL = ["v0", "v1", "tinyvgg", "binary", "gan", "infer_v0", "infer_tinyvgg"]


def run(cmd, env):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-4000:]}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"no JSON line from: {' '.join(cmd)}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return json.loads(lines[-1])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=3):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.2f}"


def acc(v):
    return "—" if v is None else f"{v:.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ctnn_reference", help="path of the built ctnn_reference binary")
    p.add_argument("--workloads", default=",".join(ALL))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--steps", type=int, default=200, help="gan: timed steps, scaled to an epoch")
    p.add_argument("--reps", type=int, default=5000, help="infer_*: timed single-image forwards")
    p.add_argument("--json", help="also write every run's JSON line to this file")
    args = p.parse_args()

    ctnn = [os.path.abspath(args.ctnn_reference)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    rows, raw = [], []
    for w in args.workloads.split(","):
        opts = [w, "--epochs", str(args.epochs), "--threads", str(args.threads)]
        if args.train_limit and w in ("v0", "v1", "tinyvgg", "binary"):
            opts += ["--train-limit", str(args.train_limit)]
        if w == "gan":
            opts += ["--steps", str(args.steps)]
        if w.startswith("infer"):
            opts += ["--reps", str(args.reps)]
        runs = {"ctnn": [], "torch": []}
        for i in range(args.repeat):
            for name, cmd in (("ctnn", ctnn), ("torch", TORCH)):
                r = run(cmd + opts, env)
                r["impl"], r["repeat"] = name, i
                runs[name].append(r)
                raw.append(r)
                print(f"  {w} {name} #{i + 1}: {json.dumps(r)}", file=sys.stderr, flush=True)
        key = "latency_us" if w.startswith("infer") else "seconds_per_epoch"
        c = median([r.get(key) for r in runs["ctnn"]])
        t = median([r.get(key) for r in runs["torch"]])
        rows.append({
            "workload": w, "unit": "µs/image" if key == "latency_us" else "s/epoch", "ctnn": c, "torch": t,
            "ratio": t / c if c and t else None,
            "ctnn_acc": median([r.get("test_acc") for r in runs["ctnn"]]),
            "torch_acc": median([r.get("test_acc") for r in runs["torch"]]),
            "ctnn_rss": median([r.get("peak_rss_mb") for r in runs["ctnn"]]),
            "torch_rss": median([r.get("peak_rss_mb") for r in runs["torch"]]),
        })

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "runs": raw, "rows": rows}, f, indent=1)
    print(f"threads {args.threads}, epochs {args.epochs}, train-limit {args.train_limit or 'all'}, gan steps {args.steps}, "
          f"repeat {args.repeat} (medians)")
    print("| workload | ctnn | PyTorch | ratio (PyTorch/ctnn) | ctnn acc % | PyTorch acc % | peak RSS ctnn / PyTorch (MB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.1f}×"
        print(f"| {r['workload']} ({r['unit']}) | {fmt(r['ctnn'])} | {fmt(r['torch'])} | "
              f"{ratio} | "
              f"{acc(r['ctnn_acc'])} | {acc(r['torch_acc'])} | {fmt(r['ctnn_rss'])} / {fmt(r['torch_rss'])} |")


if __name__ == "__main__":
    main()
