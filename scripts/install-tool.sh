#!/usr/bin/env bash
# Installs a cargo tool the tests use (cargo-audit, cargo-fuzz) into .tools/cargo with
# `cargo install --locked`, unoptimised: these tools do little work per run (an audit of
# Cargo.lock takes 2 s either way), and an unoptimised build takes half the time of the
# release profile's (cargo-audit: 190 s instead of 371 s on two cores).
#
#   scripts/install-tool.sh cargo-audit --version 0.22.2 --no-default-features
set -euo pipefail
cd "$(dirname "$0")/.."
echo "installing $1 into .tools/cargo (unoptimised)"
CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_INCREMENTAL=false \
  cargo install --locked --root .tools/cargo "$@"
