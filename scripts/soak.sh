#!/usr/bin/env bash
# The soak (docs/soak.md): mixed traffic over Connect JSON and Connect binary (HTTP/1.1 and
# HTTP/2), gRPC and gRPC-web from 64 concurrent tasks, against a real runner-server on a SQLite
# database seeded with 100,000 runners. Fails (non-zero exit) on any error, RSS growth over 10%
# from minute 1 (half-way in a run under 10 minutes), more than 10 extra file descriptors, or a
# p99 over the bound.
#
#   scripts/soak.sh            # the full soak: 600 s, release build
#   scripts/soak.sh 60         # the CI version: 60 s, debug build (the one scripts/test.sh builds)
#
# Environment: SOAK_PROFILE=release|debug (default: release for 600 s and longer, debug for
# shorter runs), SOAK_CONCURRENCY (64), SOAK_RUNNERS (100000), SOAK_P99_MS (the p99 bound;
# default 250 for release, 2500 for debug), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$seconds" -ge 600 ]; then profile=${SOAK_PROFILE:-release}; else profile=${SOAK_PROFILE:-debug}; fi

if [ "$profile" = release ]; then
  cargo build --release -p runner-server -p runner-load
  bound=${SOAK_P99_MS:-250}
else
  # The same command as scripts/test.sh, so after it this builds nothing new for the server.
  cargo build -p runner-server -p runner-agent --bins
  cargo build -p runner-load
  profile=debug
  bound=${SOAK_P99_MS:-2500}
fi
# In a run shorter than 10 minutes, 10% in is still the server's warm-up (SQLite page caches
# and pool connections fill in the first ~30 s): compare memory from half-way instead.
reference=
if [ "$seconds" -lt 600 ]; then reference="$((seconds / 2))s"; fi

exec "$target_dir/$profile/runner-load" soak \
  --server-bin "$target_dir/$profile/runner-server" \
  --duration "${seconds}s" \
  --concurrency "${SOAK_CONCURRENCY:-64}" \
  --runners "${SOAK_RUNNERS:-100000}" \
  --p99-bound-ms "$bound" \
  ${reference:+--reference "$reference"}
