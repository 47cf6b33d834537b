#!/usr/bin/python3
"""The zoo (issue 13): ctnn beside PyTorch and LibTorch on layer geometries and small classic models.

    /usr/bin/python3 benchmarks/zoo/run_zoo.py BUILD [--threads 2] [--repeat 3] [--seconds 0.5]
        [--rows SUBSTRING[,SUBSTRING...]] [--gemm 1536] [--json FILE]

BUILD is a build directory configured with -DCTNN_BUILD_BENCHMARKS=ON in which the targets zoo_ctnn and
(optionally) zoo_libtorch are built:
    cmake --build BUILD --target zoo_ctnn zoo_libtorch
The rows are zoo_ctnn's (`zoo_ctnn --list`): "conv C OC K S P H N" (one Conv2d, forward + backward with the
input gradient), "maxpool/avgpool C K S P H N", "model NAME N" (one SGD training step). Three persistent
workers (zoo_ctnn, zoo_torch.py, zoo_libtorch) answer one row at a time; each row is measured --repeat
times per implementation, the implementations alternating (in a rotating order) so that a change of the
machine's load falls on all three alike. Each measurement is the median of the iterations in about
--seconds; the table shows the median of the --repeat measurements, the ratios PyTorch / ctnn and
LibTorch / ctnn (above 1: ctnn is faster), and ctnn's GFLOP/s against the large-GEMM rate measured first
(the best of the three on a --gemm cube product), in the same run and thread count.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Worker:
    def __init__(self, name, cmd, env):
        self.name = name
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, spec):
        self.p.stdin.write(spec + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit(f"{self.name} worker ended (spec {spec!r})")
        r = json.loads(line)
        if "error" in r:
            sys.exit(f"{self.name}: {r['error']} ({spec!r})")
        return r

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def fmt(v):
    if v is None:
        return "—"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 else f"{v:.3f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build", help="build directory holding benchmarks/zoo/zoo_ctnn (and zoo_libtorch)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--rows", default="", help="only rows whose spec contains one of these substrings")
    p.add_argument("--gemm", type=int, default=1536, help="side of the cube product giving the GEMM rate")
    p.add_argument("--json", help="also write every measurement to this file")
    p.add_argument("--settle", type=float, default=0.2,
                   help="seconds of quiet before each measurement, so that the previous worker's spinning "
                        "threads (OpenMP, OpenBLAS) have gone to sleep")
    args = p.parse_args()

    zoo = os.path.join(os.path.abspath(args.build), "benchmarks", "zoo")
    ctnn_bin, lt_bin = os.path.join(zoo, "zoo_ctnn"), os.path.join(zoo, "zoo_libtorch")
    if not os.path.exists(ctnn_bin):
        sys.exit(f"no {ctnn_bin}: cmake --build {args.build} --target zoo_ctnn zoo_libtorch")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    opts = ["--threads", str(args.threads), "--seconds", str(args.seconds)]
    listing = subprocess.run([ctnn_bin, "--list"], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in listing.splitlines() if l.startswith("{")]
    if args.rows:
        keep = args.rows.split(",")
        rows = [r for r in rows if any(k in r["spec"] for k in keep)]

    workers = [Worker("ctnn", [ctnn_bin] + opts, env),
               Worker("PyTorch", ["/usr/bin/python3", os.path.join(HERE, "zoo_torch.py")] + opts, env)]
    if os.path.exists(lt_bin):
        workers.append(Worker("LibTorch", [lt_bin] + opts, env))
    else:
        print(f"(no {lt_bin}: LibTorch column left out)", file=sys.stderr)
    names = [w.name for w in workers]
    # Every worker answers once before anything is timed: PyTorch's start-up (importing torch) would
    # otherwise run beside the first measurements.
    for w in workers:
        w.ask("rss")

    def measure(w, spec):
        time.sleep(args.settle)
        return w.ask(spec)

    raw = []
    gemm = {}
    for w in workers:
        gemm[w.name] = statistics.median(measure(w, f"gemm {args.gemm}")["gflops"] for _ in range(args.repeat))
    peak = max(gemm.values())
    print(f"large GEMM ({args.gemm}^3), GFLOP/s: " + ", ".join(f"{n} {fmt(g)}" for n, g in gemm.items()), file=sys.stderr)

    table = []
    for i, row in enumerate(rows):
        ms = {n: [] for n in names}
        for rep in range(args.repeat):
            for j in range(len(workers)):
                w = workers[(rep + j) % len(workers)]
                r = measure(w, row["spec"])
                ms[w.name].append(r["ms"])
                raw.append({"impl": w.name, "repeat": rep, **r})
        med = {n: statistics.median(v) for n, v in ms.items()}
        c = med["ctnn"]
        t = {"spec": row["spec"], "flop": row["flop"], **{n + "_ms": med[n] for n in names},
             "torch_ratio": med["PyTorch"] / c,
             "libtorch_ratio": med["LibTorch"] / c if "LibTorch" in med else None,
             "ctnn_gflops": row["flop"] / (c * 1e6) if row["flop"] else None}
        table.append(t)
        print(f"[{i + 1}/{len(rows)}] {row['spec']}: " + ", ".join(f"{n} {fmt(med[n])} ms" for n in names),
              file=sys.stderr, flush=True)
    rss = {w.name: w.ask("rss")["peak_rss_mb"] for w in workers}
    for w in workers:
        w.close()

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "gemm_gflops": gemm, "peak_rss_mb": rss, "rows": table, "runs": raw}, f, indent=1)
    has_lt = "LibTorch" in names
    print(f"threads {args.threads}, repeat {args.repeat} (medians), ~{args.seconds} s per measurement; large-GEMM rate "
          f"{fmt(peak)} GFLOP/s (" + ", ".join(f"{n} {fmt(g)}" for n, g in gemm.items()) + ")")
    print("| row | ctnn ms | PyTorch ms | " + ("LibTorch ms | " if has_lt else "") + "PyTorch/ctnn | " +
          ("LibTorch/ctnn | " if has_lt else "") + "ctnn GFLOP/s | % of GEMM |")
    print("|---|---|---|" + ("---|" if has_lt else "") + "---|" + ("---|" if has_lt else "") + "---|---|")
    for t in table:
        g = t["ctnn_gflops"]
        print(f"| {t['spec']} | {fmt(t['ctnn_ms'])} | {fmt(t['PyTorch_ms'])} | " +
              (f"{fmt(t['LibTorch_ms'])} | " if has_lt else "") + f"{t['torch_ratio']:.2f}× | " +
              (f"{t['libtorch_ratio']:.2f}× | " if has_lt else "") +
              (f"{fmt(g)} | {100 * g / peak:.0f} % |" if g else "— | — |"))
    ratios = [t["torch_ratio"] for t in table]
    line = f"median PyTorch/ctnn {statistics.median(ratios):.2f}×, ctnn faster on {sum(r > 1 for r in ratios)}/{len(ratios)} rows"
    if has_lt:
        lt = [t["libtorch_ratio"] for t in table]
        both = sum(a > 1 and b > 1 for a, b in zip(ratios, lt))
        line += f"; median LibTorch/ctnn {statistics.median(lt):.2f}×, faster on {sum(r > 1 for r in lt)}/{len(lt)}; faster than both on {both}/{len(lt)}"
    print(line)
    print("peak RSS (MB, whole worker): " + ", ".join(f"{n} {fmt(v)}" for n, v in rss.items()))


if __name__ == "__main__":
    main()
