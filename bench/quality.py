"""Quality of the outputs that bench/cpu.py wrote: DSSIM against a careful reference.

    quality.py [--engines tofu,vips] [--out DIR]

For each job and photo, the reference is `tofu-bench reference`: the whole photo decoded at full
size, turned upright, resampled with Lanczos3 in linear light (f32) to the output's exact size
(for fill, the centred window of the output's aspect). Each engine's output is compared with it
by `dssim` (0 = identical; lower is better). Prints the mean DSSIM and mean bytes per job and
engine; details in DIR/quality.tsv.
"""

import argparse
import glob
import os
import subprocess
import sys

from jobs import JOBS

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def size_of(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--engines", default="tofu,vips")
    p.add_argument("--corpus", default=os.path.join(TOP, "target/bench/corpus"))
    p.add_argument("--out", default=os.path.join(TOP, "target/bench/results"))
    args = p.parse_args()
    engines = args.engines.split(",")
    tool = os.path.join(TOP, "target/release/tofu-bench")
    lines = ["job\tfile\tengine\tdssim\tbytes\twidth\theight"]
    summary = {}
    for index, job in enumerate(JOBS):
        refdir = os.path.join(args.out, "ref", str(index))
        os.makedirs(refdir, exist_ok=True)
        for src in sorted(glob.glob(os.path.join(args.corpus, "*.jpg"))):
            stem = os.path.splitext(os.path.basename(src))[0]
            for engine in engines:
                out = os.path.join(args.out, "out", engine, str(index), stem + ".jpg")
                if not os.path.exists(out):
                    sys.exit(f"quality: {out} missing: run bench/cpu --engines {args.engines} first")
                w, h = size_of(out)
                ref = os.path.join(refdir, f"{stem}-{w}x{h}.png")
                if not os.path.exists(ref):
                    size = f"{w}x{h}" + ("c" if job.fill else "")
                    subprocess.run([tool, "reference", src, size, ref], check=True)
                score = subprocess.run(
                    ["dssim", ref, out], check=True, capture_output=True, text=True
                ).stdout.split()[0]
                nbytes = os.path.getsize(out)
                lines.append(f"{job.ops}\t{stem}\t{engine}\t{score}\t{nbytes}\t{w}\t{h}")
                s = summary.setdefault((job.name, engine), [0.0, 0, 0])
                s[0] += float(score)
                s[1] += nbytes
                s[2] += 1
    with open(os.path.join(args.out, "quality.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\nDSSIM against a linear-light Lanczos3 reference (mean; lower is better), mean bytes\n")
    print("| job | " + " | ".join(f"{e} DSSIM | {e} bytes" for e in engines) + " |")
    print("|" + "---|" * (1 + 2 * len(engines)))
    for job in JOBS:
        cells = []
        for e in engines:
            total, nbytes, n = summary[(job.name, e)]
            cells.append(f"{total / n:.5f} | {nbytes / n:.0f}")
        print(f"| {job.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
