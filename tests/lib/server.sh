# Sourced by the test scripts that run a live runner-server.
#
# start_server BIN WORK [FLAG...]: starts BIN on 127.0.0.1:0 with a fresh SQLite database and key
# file in WORK and the FLAGs (stdout in WORK/stdout, stderr in WORK/server.log), waits up to 30 s
# for its `listening on` line, and sets SERVER_PID, SERVER_URL, SERVER_DATABASE_URL and
# ADMIN_TOKEN (the token it prints once, on its first start; never printed here). On failure it
# prints the server's log and the reason on stderr and returns 1.
#
# Every script that runs a live server starts it through this function (the Rust tests have
# the same in runner_testkit::ServerProcess).
start_server() {
  local bin=$1 work=$2
  shift 2
  SERVER_DATABASE_URL="sqlite://$work/db.sqlite"
  "$bin" --listen 127.0.0.1:0 --database-url "$SERVER_DATABASE_URL" --key-file "$work/server.key" "$@" \
    >"$work/stdout" 2>"$work/server.log" &
  SERVER_PID=$!
  SERVER_URL=""
  for _ in $(seq 300); do
    SERVER_URL="$(sed -n 's#^listening on \(http://127\.0\.0\.1:[0-9][0-9]*\)$#\1#p' "$work/stdout")"
    [ -n "$SERVER_URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  ADMIN_TOKEN="$(sed -n 's/^admin token (shown once): \([^[:space:]][^[:space:]]*\)$/\1/p' "$work/stdout" | head -n 1)"
  if [ -z "$SERVER_URL" ]; then
    cat "$work/server.log" >&2
    echo "start_server: $bin printed no 'listening on' line (exited, or not within 30 s)" >&2
    return 1
  fi
  if [ -z "$ADMIN_TOKEN" ]; then
    cat "$work/server.log" >&2
    echo "start_server: $bin printed no 'admin token (shown once): ' line before 'listening on'" >&2
    return 1
  fi
}

# server_bin ROOT: sets BIN to $RUNNER_SERVER_BIN, else to ROOT's debug build, building it first.
server_bin() {
  if [ -n "${RUNNER_SERVER_BIN:-}" ]; then
    BIN="$RUNNER_SERVER_BIN"
  else
    echo "== building runner-server (debug)" >&2
    cargo build --quiet -p runner-server --bins
    BIN="${CARGO_TARGET_DIR:-$1/target}/debug/runner-server"
  fi
  [ -x "$BIN" ] || { echo "server_bin: server binary $BIN not found" >&2; return 1; }
}

# end_server: SIGTERM to SERVER_PID, if it runs, and waits for it to exit.
end_server() {
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
