# shellcheck shell=bash
# Sourced by scripts/setup, scripts/fuzz and scripts/asan: the two pinned Rust toolchains.
#   RUST_TOOLCHAIN  the stable release of every build, test and lint, read from rust-toolchain.toml
#                   (which cargo and rustup obey in this tree on their own).
#   FUZZ_TOOLCHAIN  the nightly of cargo-fuzz and -Zsanitizer=address. rust-toolchain.toml can hold
#                   one channel only, so this is the nightly's one place: a dated nightly, the one
#                   the machines have installed as `nightly` (scripts/setup points this name at it
#                   rather than download it). Change it here only.
# shellcheck disable=SC2034  # used by the scripts that source this file
FUZZ_TOOLCHAIN=nightly-2026-05-20
# shellcheck disable=SC2034
RUST_TOOLCHAIN=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' \
  "$(dirname "${BASH_SOURCE[0]}")/../../rust-toolchain.toml")
