#!/usr/bin/env bash
# Instructions per call of the whole server, under callgrind (docs/performance.md, "Instruction
# counts"): counts do not depend on what else the machine is doing, as times and rates do, so a
# change can be judged on a busy machine.
#
#   bench/instructions.sh                  # GetRunner and ListRunners (page of 50), gRPC and Connect JSON
#   bench/instructions.sh GetRunner grpc   # one call over one protocol (grpc, json-h1, json-h2)
#
# A release `runner-server` runs under `valgrind --tool=callgrind` on a SQLite database of 1,000
# runners (seeded as the benchmark seeds them), authentication on, logs at `info` (every call
# writes its access line, as in production); h2load makes WARM calls, the counters are zeroed,
# h2load makes CALLS more (8 streams on one connection; HTTP/1.1: 8 connections), and the
# counters are dumped: the total over every thread of the server, divided by CALLS, is printed.
# KEEP=DIR keeps each dump there (callgrind.CALL.WIRE, for callgrind_annotate --inclusive=yes).
# Respects CARGO_TARGET_DIR; RUNNER_SERVER_BIN and RUNNER_LOAD_BIN name other binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
CALLS=${CALLS:-2000}
WARM=${WARM:-500}
for tool in valgrind callgrind_control h2load sqlite3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: valgrind, nghttp2-client, sqlite3)" >&2; exit 2; }
done
if [ -z "${RUNNER_SERVER_BIN:-}" ]; then
  cargo build --release -q -p runner-server --bin runner-server -p runner-load
fi
server_bin=${RUNNER_SERVER_BIN:-$target_dir/release/runner-server}
load_bin=${RUNNER_LOAD_BIN:-$target_dir/release/runner-load}

dir=$(mktemp -d -t runner-instructions.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

db="$dir/db.sqlite"
"$load_bin" seed --database-url "sqlite://$db" --count 1000 >"$dir/seed.out"
token=$(sed -n 's/^admin token: //p' "$dir/seed.out")
runner_id=$(sqlite3 "$db" "SELECT id FROM runners ORDER BY id LIMIT 1 OFFSET 500")

# Request bodies: GetRunnerRequest{runner_id} (field 1) and ListRunnersRequest{pagination{page_size
# 50}} (pagination is field 1, page_size field 1 of it), gRPC-framed or as Connect JSON.
printf '{"runnerId":"%s"}' "$runner_id" >"$dir/GetRunner.json"
printf '{"pagination":{"pageSize":50}}' >"$dir/ListRunners.json"
python3 - "$dir" "$runner_id" <<'EOF'
import struct, sys
d, rid = sys.argv[1], sys.argv[2].encode()
for name, msg in [("GetRunner", b"\x0a" + bytes([len(rid)]) + rid), ("ListRunners", b"\x0a\x02\x08\x32")]:
    open(f"{d}/{name}.grpc", "wb").write(b"\x00" + struct.pack(">I", len(msg)) + msg)
EOF

RUST_LOG=info valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  "$server_bin" --listen 127.0.0.1:0 --database-url "sqlite://$db" --key-file "$dir/server.key" \
  >"$dir/server.out" 2>"$dir/server.err" &
server_pid=$!
for _ in $(seq 600); do
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$dir/server.out" "$dir/server.err" | head -1)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$dir/server.err" >&2; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { echo "the server did not start" >&2; exit 1; }
url=${url%/}

load() { # CALL WIRE N
  local call=$1 wire=$2 n=$3 args=()
  case $wire in
    grpc) args=(-c 1 -m 8 -d "$dir/$call.grpc" -H 'content-type: application/grpc' -H 'te: trailers') ;;
    json-h2) args=(-c 1 -m 8 -d "$dir/$call.json" -H 'content-type: application/json' -H 'connect-protocol-version: 1') ;;
    json-h1) args=(--h1 -c 8 -d "$dir/$call.json" -H 'content-type: application/json' -H 'connect-protocol-version: 1') ;;
  esac
  local out
  out=$(h2load -n "$n" "${args[@]}" -H "authorization: Bearer $token" "$url/gitpod.v1.RunnerService/$call")
  grep -q "succeeded, 0 failed, 0 errored" <<<"$out" || { echo "$out" >&2; exit 1; }
  grep -q "status codes: $n 2xx" <<<"$out" || { echo "$out" >&2; exit 1; }
}

measure() { # CALL WIRE
  local call=$1 wire=$2
  load "$call" "$wire" "$WARM"
  callgrind_control -z "$server_pid" >/dev/null 2>&1
  load "$call" "$wire" "$CALLS"
  rm -f "$dir"/callgrind.out.*
  callgrind_control -d "$server_pid" >/dev/null 2>&1
  local total
  total=$(cat "$dir"/callgrind.out.* | sed -n 's/^summary: //p;s/^totals: //p' | head -1)
  [ -n "${KEEP:-}" ] && cp "$dir"/callgrind.out.* "$KEEP/callgrind.$call.$wire"
  printf '%-12s %-8s %12.0f instructions per call (%s calls, %s in all)\n' \
    "$call" "$wire" "$(echo "$total / $CALLS" | bc -l)" "$CALLS" "$total"
}

if [ $# -ge 2 ]; then
  measure "$1" "$2"
else
  for call in GetRunner ListRunners; do
    for wire in grpc json-h1; do measure "$call" "$wire"; done
  done
fi
