#!/usr/bin/env bash
# libjpeg-turbo (baseline, progressive) against mozjpeg on the same pixels: the references that
# bench/quality made (full-size decode, linear-light Lanczos3) for fill 280x210 (q80) and fit
# 1024 (q85). Prints mean CPU ms per encode, bytes and DSSIM against those same pixels.
# bench/encoders is its own crate (mozjpeg's static libjpeg never meets the module's libjpeg.so);
# mozjpeg with its "fastest" profile is libjpeg-turbo's code path.
#   bench/encoders.sh        (after bench/cpu and bench/quality)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --manifest-path bench/encoders/Cargo.toml
tool=bench/encoders/target/release/tofu-encoders-bench
for job in 0:80 2:85; do
  i=${job%:*}; q=${job#*:}
  refs=(target/bench/results/ref/"$i"/*.png)
  [ -e "${refs[0]}" ] || { echo "encoders: run bench/cpu and bench/quality first" >&2; exit 1; }
  out=target/bench/results/encoders/$i
  "$tool" "$out" "$q" "${refs[@]}" > "$out.tsv"
  echo "job $i (q$q): setting, mean CPU ms, mean bytes, mean DSSIM"
  while IFS=$'\t' read -r setting file ms bytes; do
    [ "$setting" = setting ] && continue
    ref=target/bench/results/ref/$i/$file.png
    d=$(dssim "$ref" "$out/$setting/$file.jpg" | cut -f1)
    echo "$setting $ms $bytes $d"
  done < "$out.tsv" | awk '{n[$1]++; c[$1]+=$2; b[$1]+=$3; d[$1]+=$4}
    END {for (s in n) printf "  %-18s %7.2f ms %8.0f bytes DSSIM %.5f\n", s, c[s]/n[s], b[s]/n[s], d[s]/n[s]}'
done
