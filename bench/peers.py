"""CPU time per image of the peers, one engine per process (bench/README.md).

    peers.py ENGINE OUTDIR MIN_TIME MIN_ITERATIONS FILE...      ENGINE: vips, pillow or magick

Prints the same tab-separated lines as `tofu-bench cpu` for the three jobs of bench/jobs.py: the
median CPU time per image (after one warm-up run), the minimum, the iterations, and the first
output's bytes and size; writes that output to OUTDIR/<job index>/<stem>.jpg. libvips and Pillow
run in this process (process CPU time: libvips hands work to a worker thread even with
VIPS_CONCURRENCY=1); ImageMagick runs as `convert` (the CPU time of the child, process start
included, as a server calling it would pay).
"""

import io
import os
import resource
import subprocess
import sys
import time

from jobs import JOBS


def vips_engine():
    import pyvips

    pyvips.cache_set_max(0)  # every iteration decodes again

    def run(source, job):
        crop = "centre" if job.fill else "none"
        img = pyvips.Image.thumbnail_buffer(
            source, job.width, height=job.height, crop=crop, size="down"
        )
        out = img.jpegsave_buffer(Q=job.quality, strip=True)
        return out, img.width, img.height

    return run


def pillow_engine():
    from PIL import Image

    def run(source, job):
        im = Image.open(io.BytesIO(source))
        orientation = im.getexif().get(0x0112, 1)
        swap = orientation in (5, 6, 7, 8)
        box_w, box_h = (job.height, job.width) if swap else (job.width, job.height)
        if job.fill:
            sw, sh = im.size
            scale = max(box_w / sw, box_h / sh)
            if scale >= 1:
                scale = 1
            cw, ch = box_w / scale, box_h / scale
            cw, ch = min(cw, sw), min(ch, sh)
            # draft: the smallest DCT scale that keeps twice the output (like thumbnail()).
            im.draft("RGB", (int(sw * scale * 2), int(sh * scale * 2)))
            f = im.size[0] / sw
            x0, y0 = (sw - cw) / 2 * f, (sh - ch) / 2 * f
            im = im.resize(
                (round(cw * scale), round(ch * scale)),
                Image.LANCZOS,
                box=(x0, y0, x0 + cw * f, y0 + ch * f),
                reducing_gap=2.0,
            )
        else:
            im.thumbnail((box_w, box_h), Image.LANCZOS, reducing_gap=2.0)
        if orientation != 1:
            im = _orient(im, orientation)
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=job.quality)
        return buf.getvalue(), im.size[0], im.size[1]

    def _orient(im, orientation):
        method = {
            2: Image.FLIP_LEFT_RIGHT,
            3: Image.ROTATE_180,
            4: Image.FLIP_TOP_BOTTOM,
            5: Image.TRANSPOSE,
            6: Image.ROTATE_270,
            7: Image.TRANSVERSE,
            8: Image.ROTATE_90,
        }.get(orientation)
        return im.transpose(method) if method is not None else im

    return run


def magick_engine(workdir):
    env = dict(os.environ, MAGICK_THREAD_LIMIT="1", OMP_NUM_THREADS="1")
    out_path = os.path.join(workdir, "magick-out.jpg")

    def run(source_path, job):
        hint = f"{job.width * 2}x{job.height * 2}"
        if job.fill:
            geometry = [
                "-thumbnail", f"{job.width}x{job.height}^",
                "-gravity", "center", "-extent", f"{job.width}x{job.height}",
            ]
        else:
            geometry = ["-thumbnail", f"{job.width}x{job.height}>"]
        cmd = (
            ["convert", "-define", f"jpeg:size={hint}", source_path, "-auto-orient"]
            + geometry
            + ["-quality", str(job.quality), out_path]
        )
        subprocess.run(cmd, check=True, env=env)
        with open(out_path, "rb") as f:
            out = f.read()
        return out, None, None

    return run


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    engine, outdir, min_time, min_iter = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    files = sys.argv[5:]
    if engine == "magick":
        run = magick_engine(outdir)
        clock = children_cpu
    else:
        run = vips_engine() if engine == "vips" else pillow_engine()
        clock = time.process_time
    print("ops\tfile\tcpu_ms_median\tcpu_ms_min\titerations\tbytes\twidth\theight")
    for index, job in enumerate(JOBS):
        os.makedirs(os.path.join(outdir, str(index)), exist_ok=True)
        for path in files:
            stem = os.path.splitext(os.path.basename(path))[0]
            with open(path, "rb") as f:
                source = f.read()
            arg = path if engine == "magick" else source
            first, w, h = run(arg, job)
            times = []
            total = 0.0
            while len(times) < min_iter or total < min_time:
                start = clock()
                run(arg, job)
                spent = clock() - start
                total += spent
                times.append(spent * 1000)
            times.sort()
            out = os.path.join(outdir, str(index), stem + ".jpg")
            with open(out, "wb") as f:
                f.write(first)
            if w is None:
                w, h = image_size(out)
            print(
                f"{job.ops}\t{stem}\t{times[len(times) // 2]:.3f}\t{times[0]:.3f}\t{len(times)}"
                f"\t{len(first)}\t{w}\t{h}",
                flush=True,
            )


def image_size(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.size


if __name__ == "__main__":
    main()
