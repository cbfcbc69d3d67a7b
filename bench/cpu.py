"""Per-image CPU time of mod_tofu's pipeline and its peers, in one run on one corpus.

    cpu.py [--engines tofu,vips,pillow,magick] [--min-time S] [--min-iterations N] [--out DIR]
           [--before PATH]   (engine `before`: another commit's tofu-bench, same run)

Run through bench/cpu (which installs, builds and fetches first). For each engine and job it
measures every photo of the corpus (median of the iterations after a warm-up run) and prints,
per job, the mean CPU time per image, each engine's ratio to ours, and the mean output bytes.
Every measurement goes to DIR/cpu-<engine>.tsv and the outputs to DIR/out/<engine>/<job>/,
which bench/quality.py reads.
"""

import argparse
import csv
import glob
import os
import subprocess
import sys

from jobs import JOBS

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def measure(engine, files, out, min_time, min_iter, before=None):
    outdir = os.path.join(out, "out", engine)
    os.makedirs(outdir, exist_ok=True)
    if engine in ("tofu", "before"):
        binary = before if engine == "before" else os.path.join(TOP, "target/release/tofu-bench")
        cmd = [
            binary, "cpu",
            "--min-time", str(min_time), "--min-iterations", str(min_iter),
            "--out-dir", outdir,
        ] + [j.ops for j in JOBS] + ["--"] + files
        env = os.environ
    else:
        cmd = [sys.executable, os.path.join(HERE, "peers.py"), engine, outdir,
               str(min_time), str(min_iter)] + files
        env = dict(os.environ, VIPS_CONCURRENCY="1")
    tsv = os.path.join(out, f"cpu-{engine}.tsv")
    with open(tsv, "w") as f:
        subprocess.run(cmd, check=True, stdout=f, env=env)
    with open(tsv) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--engines", default="tofu,vips,pillow,magick")
    p.add_argument("--corpus", default=os.path.join(TOP, "target/bench/corpus"))
    p.add_argument("--out", default=os.path.join(TOP, "target/bench/results"))
    p.add_argument("--min-time", type=float, default=0.3)
    p.add_argument("--min-iterations", type=int, default=5)
    p.add_argument("--before", help="a tofu-bench binary built from another commit: the engine "
                   "'before', for a change's before and after in one run")
    args = p.parse_args()
    files = sorted(glob.glob(os.path.join(args.corpus, "*.jpg")))
    engines = args.engines.split(",")
    os.makedirs(args.out, exist_ok=True)
    rows = {}
    for engine in engines:
        print(f"cpu: measuring {engine} on {len(files)} photos", file=sys.stderr, flush=True)
        if engine == "before" and not args.before:
            sys.exit("cpu: the engine 'before' needs --before PATH")
        rows[engine] = measure(engine, files, args.out, args.min_time, args.min_iterations,
                               args.before)
    base = engines[0]
    print(f"\nPer-image CPU time, mean over {len(files)} photos (ratio: engine / {base})\n")
    header = "| job | " + " | ".join(f"{e} ms | {e}/{base}" for e in engines) + " |"
    print(header)
    print("|" + "---|" * (1 + 2 * len(engines)))
    for job in JOBS:
        cells = []
        base_ms = mean_ms(rows[base], job)
        for e in engines:
            ms = mean_ms(rows[e], job)
            cells.append(f"{ms:.1f} | {ms / base_ms:.2f}")
        print(f"| {job.name} | " + " | ".join(cells) + " |")
    print("\nMean output bytes\n")
    print("| job | " + " | ".join(engines) + " |")
    print("|" + "---|" * (1 + len(engines)))
    for job in JOBS:
        cells = [f"{mean(rows[e], job, 'bytes'):.0f}" for e in engines]
        print(f"| {job.name} | " + " | ".join(cells) + " |")


def mean(rows, job, key):
    values = [float(r[key]) for r in rows if r["ops"] == job.ops]
    return sum(values) / len(values)


def mean_ms(rows, job):
    return mean(rows, job, "cpu_ms_median")


if __name__ == "__main__":
    main()
