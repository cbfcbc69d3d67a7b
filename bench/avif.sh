#!/usr/bin/env bash
# AVIF against WebP and JPEG, in one run on the same photos (docs/performance.md, "AVIF").
#
#   bench/avif.sh            the module's whole pipeline (tofu-bench cpu: decode to encode, thread
#                            CPU) for fill 280x210 q80 and fit 1024 q85 in each output format, the
#                            formats interleaved photo by photo so that the machine's load falls on
#                            all alike; then DSSIM of each output against the linear-light Lanczos3
#                            reference (as bench/quality), and bytes. Prints the means and ratios.
#   bench/avif.sh --sweep    the encoder choice: on those references, libavif with libaom and
#                            with rav1e at several speeds and quantizers, and libwebp at several
#                            qualities (bench/encoders, `avif`); mean CPU ms, bytes and DSSIM per
#                            setting. AVIF_SETTINGS / AVIF_QUANTIZERS / WEBP_QUALITIES narrow it,
#                            SWEEP_JOBS="0 1" chooses the jobs (0: fill 280x210, 1: fit 1024).
#
# Everything goes to target/bench/results/avif/. Needs bench/setup (dssim, dwebp, avifdec).
set -euo pipefail
cd "$(dirname "$0")/.."
bench/setup
bench/corpus >/dev/null
cargo build --release -q --bin tofu-bench
tool=target/release/tofu-bench
res=target/bench/results/avif
mkdir -p "$res"
photos=(target/bench/corpus/*.jpg)
jobs=(280x210c-q80 1024x1024-q85)
formats=(jpg webp avif)

# The reference of job $1 for photo $2 at the output size in $3 (WxH): made once.
reference() {
  local i=$1 stem=$2 size=$3 photo=target/bench/corpus/$2.jpg
  local ref=$res/ref/$i/$stem.png
  mkdir -p "$res/ref/$i"
  if [ ! -e "$ref" ]; then
    case ${jobs[$i]} in
      *c-*) "$tool" reference "$photo" "${size}c" "$ref" ;;
      *) "$tool" reference "$photo" "$size" "$ref" ;;
    esac
  fi
  echo "$ref"
}

# DSSIM of an output (any of jpg, webp, avif, png) against a reference.
dssim_of() {
  local ref=$1 out=$2 png
  case $out in
    *.webp) png=${out%.webp}.dec.png; dwebp -quiet "$out" -o "$png" ;;
    *.avif) png=${out%.avif}.dec.png; avifdec "$out" "$png" >/dev/null ;;
    *) png=$out ;;
  esac
  dssim "$ref" "$png" | cut -f1
}

if [ "${1:-}" = --sweep ]; then
  cargo build --release -q --manifest-path bench/encoders/Cargo.toml --bin avif
  for i in ${SWEEP_JOBS:-${!jobs[@]}}; do
    refs=("$res"/ref/"$i"/*.png)
    [ -e "${refs[0]}" ] || { echo "avif.sh: run bench/avif.sh without --sweep first" >&2; exit 1; }
    out=$res/sweep/$i
    mkdir -p "$out"
    bench/encoders/target/release/avif "$out" "${refs[@]}" > "$out.tsv"
    echo "job ${jobs[$i]} (on the references): setting, mean CPU ms per encode, mean bytes, mean DSSIM"
    while IFS=$'\t' read -r setting file ms bytes; do
      [ "$setting" = setting ] && continue
      f=$(ls "$out/$setting/$file".*)
      echo "$setting $ms $bytes $(dssim_of "$res/ref/$i/$file.png" "$f")"
    done < "$out.tsv" | awk '{n[$1]++; c[$1]+=$2; b[$1]+=$3; d[$1]+=$4}
      END {for (s in n) printf "  %-16s %8.2f ms %8.0f bytes DSSIM %.5f\n", s, c[s]/n[s], b[s]/n[s], d[s]/n[s]}' | sort
  done
  exit 0
fi

rows=$res/pipeline.tsv
echo -e "job\tformat\tphoto\tcpu_ms\tbytes\tdssim" > "$rows"
for photo in "${photos[@]}"; do
  stem=$(basename "$photo" .jpg)
  for fmt in "${formats[@]}"; do
    "$tool" cpu --min-time 0.2 --min-iterations 3 --format "$fmt" --out-dir "$res/$fmt" \
      "${jobs[@]}" -- "$photo" | tail -n +2 | while IFS=$'\t' read -r ops file median _min _n bytes w h; do
      for i in "${!jobs[@]}"; do [ "${jobs[$i]}" = "$ops" ] && break; done
      ref=$(reference "$i" "$stem" "${w}x${h}")
      echo -e "$ops\t$fmt\t$stem\t$median\t$bytes\t$(dssim_of "$ref" "$res/$fmt/$i/$stem.$fmt")"
    done >> "$rows"
  done
done
echo "whole pipeline (decode to encode), mean over ${#photos[@]} photos; ratios of the means"
awk -F'\t' 'NR > 1 {k=$1 "\t" $2; n[k]++; c[k]+=$4; b[k]+=$5; d[k]+=$6; jobs[$1]=1}
  END {
    for (j in jobs) {
      printf "%s\n", j
      for (f in n) if (index(f, j "\t") == 1) {
        split(f, p, "\t")
        printf "  %-5s %8.2f ms %8.0f bytes DSSIM %.5f\n", p[2], c[f]/n[f], b[f]/n[f], d[f]/n[f]
      }
      a = j "\tavif"; w = j "\twebp"; g = j "\tjpg"
      printf "  avif/jpg CPU %.2f, avif/webp CPU %.2f, avif/webp bytes %.2f, avif/jpg bytes %.2f\n",
        c[a]/c[g], c[a]/c[w], b[a]/b[w], b[a]/b[g]
    }
  }' "$rows"
