#!/usr/bin/env bash
# The performance benchmark (docs/performance.md), one command:
#
#   bench/run.sh                 # release build, 100,000 runners, 10 s per row; prints the table
#   bench/run.sh --postgres      # also the PostgreSQL rows (a fresh database on 127.0.0.1:5432,
#                                #   or --postgres-url / RUNNER_TEST_POSTGRES_URL; one replica, then two)
#   bench/run.sh --smoke         # CI's version: debug build, 10,000 runners, 1 s per row, with the
#                                #   PostgreSQL rows when PostgreSQL answers (always under
#                                #   RUNNER_TEST_REQUIRE_POSTGRES=1); fails on any failed request,
#                                #   gives no verdict on the targets
#
# Then the WatchEvents benchmark (`runner-load watchers`): 1,000 watchers on one server, RSS per
# idle watcher, write throughput without and with them, delivery p50/p99 at 500 writes/s; then
# the same across two replicas on PostgreSQL (writes on one, watchers on the other) when
# PostgreSQL answers or --postgres asks; with --smoke 50 watchers, 2 s runs at 100 writes/s,
# failing if a watcher misses an event.
#
# Other arguments go to `runner-load bench` (see `runner-load bench --help`), for example
# `--markdown bench/last.md`, `--duration 20s`, `--server-cpu 0 --load-cpu 1`.
# It installs h2load (Debian's nghttp2-client) if missing. Respects CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}

if ! command -v h2load >/dev/null; then
  echo "installing h2load (nghttp2-client)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q nghttp2-client >/dev/null; else sudo apt-get install -y -q nghttp2-client >/dev/null; fi
fi

smoke=
for arg in "$@"; do [ "$arg" = --smoke ] && smoke=1; done
if [ -n "$smoke" ]; then
  # The binaries scripts/test.sh has built already.
  cargo build -p runner-server --bins
  cargo build -p runner-load
  profile=debug
  defaults=(--runners 10000 --duration 1s --warm-up 1s)
else
  cargo build --release -p runner-server -p runner-load
  profile=release
  defaults=()
fi
"$target_dir/$profile/runner-load" bench --server-bin "$target_dir/$profile/runner-server" "${defaults[@]}" "$@"
watch_args=()
[ -n "$smoke" ] && watch_args=(--watchers 50 --duration 2s --rate 100 --smoke)
for arg in "$@"; do [ "$arg" = --postgres ] && watch_args+=(--postgres); done
exec "$target_dir/$profile/runner-load" watchers --server-bin "$target_dir/$profile/runner-server" "${watch_args[@]}"
