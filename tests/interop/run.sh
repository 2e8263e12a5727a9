#!/usr/bin/env bash
# Third-party client interop tests for runner-server.
#
#   bash tests/interop/run.sh [CLIENT...]     CLIENT: buf-curl grpcio connect-node curl openapi-python
#                                             (default: all)
#
# 1. installs the clients if missing: a Python venv in .tools/venv (grpcio, grpcio-tools, protobuf,
#    and PyJWT with cryptography, which verifies an ID token as a relying party)
#    and the Node packages of tests/interop/node (npm ci from its package-lock.json);
#    and openapi-python-client in .tools/openapi-python-client;
# 2. generates stubs into tests/interop/py/gen and tests/interop/node/gen, and (once the server
#    runs) a Python client from its GET /openapi.json into tests/interop/py/openapi_gen;
# 3. starts the server ($RUNNER_SERVER_BIN, default target/debug/runner-server, built if missing)
#    on a free port with a fresh temporary database, and reads the admin token it prints on its
#    first start (passed to the clients as INTEROP_TOKEN, never printed);
# 4. runs every client: each runs the same runner scenario (tests/interop/scenario.json) and
#    prints one line per check and `RESULT <client> passed=N failed=M`;
# 5. stops the server, prints `N passed, M failed`, and exits non-zero if anything failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE=tests/interop
NODE_DIR=$HERE/node
VENV=.tools/venv
PY=$VENV/bin/python
CLIENT_TIMEOUT=150 # seconds per client

log() { printf '== %s\n' "$*" >&2; }
# A setup failure still ends with the summary line, counted as one failed check.
die() { printf 'run.sh: %s\n' "$*" >&2; printf '0 passed, 1 failed\n'; exit 2; }

for tool in node npm curl; do command -v "$tool" >/dev/null || die "$tool is required"; done

# --- 1. clients -------------------------------------------------------------------------------
if ! "$PY" -c 'import grpc, grpc_tools, google.protobuf, jwt, cryptography; assert grpc.__version__.startswith("1.85.")' 2>/dev/null; then
  PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
  [ -n "$PYTHON" ] || die "python3 is required"
  log "installing grpcio into $VENV"
  [ -x "$PY" ] || "$PYTHON" -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check 'grpcio==1.85.*' 'grpcio-tools==1.85.*' protobuf 'pyjwt[crypto]==2.*'
fi

if [ ! -x "$NODE_DIR/node_modules/.bin/buf" ] || [ ! -x "$NODE_DIR/node_modules/.bin/protoc-gen-es" ] ||
  [ "$NODE_DIR/package-lock.json" -nt "$NODE_DIR/node_modules/.package-lock.json" ]; then
  log "installing Node packages into $NODE_DIR/node_modules"
  if [ -f "$NODE_DIR/package-lock.json" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi

# The generated-client test: openapi-python-client (PyPI) in its own venv; its generated package
# needs only what the generator itself depends on (httpx, attrs, python-dateutil).
OPC_VENV=.tools/openapi-python-client
OPC_PY=$OPC_VENV/bin/python
if [ " $* " = "  " ] || [[ " $* " == *" openapi-python "* ]]; then
  if ! "$OPC_PY" -c 'import openapi_python_client, httpx, attrs, dateutil' 2>/dev/null; then
    PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
    [ -n "$PYTHON" ] || die "python3 is required"
    log "installing openapi-python-client into $OPC_VENV"
    [ -x "$OPC_PY" ] || "$PYTHON" -m venv "$OPC_VENV"
    "$OPC_PY" -m pip install --quiet --disable-pip-version-check 'openapi-python-client==0.29.1'
  fi
fi

# --- 2. stubs ---------------------------------------------------------------------------------
log "generating stubs"
rm -rf "$HERE/py/gen" && mkdir -p "$HERE/py/gen"
"$PY" -m grpc_tools.protoc -I proto --python_out="$HERE/py/gen" --grpc_python_out="$HERE/py/gen" proto/gitpod/v1/*.proto \
  proto/buf/validate/validate.proto
(cd "$NODE_DIR" && node_modules/.bin/buf generate ../../../proto --template buf.gen.yaml)

# --- 3. server --------------------------------------------------------------------------------
if [ -n "${RUNNER_SERVER_BIN:-}" ]; then
  BIN="$RUNNER_SERVER_BIN"
else
  BIN="${CARGO_TARGET_DIR:-target}/debug/runner-server"
  if [ ! -x "$BIN" ]; then
    log "building runner-server"
    cargo build --quiet -p runner-server
  elif [ -n "$(find crates src proto build.rs Cargo.toml -newer "$BIN" -print -quit 2>/dev/null)" ]; then
    log "warning: $BIN is older than the sources; run 'cargo build -p runner-server' to test them"
  fi
fi
[ -x "$BIN" ] || die "server binary $BIN not found (set RUNNER_SERVER_BIN or run cargo build -p runner-server)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/runner-interop.XXXXXX")"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server ignored SIGTERM for 10 s; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "server log kept in $WORK/server.log"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting $BIN"
# The admin token the server prints once, before `listening on`, on its first start with an empty
# database. The clients get it in INTEROP_TOKEN; it is never printed.
source tests/lib/server.sh
start_server "$BIN" "$WORK" || die "the server did not start"
URL=$SERVER_URL
INTEROP_TOKEN=$ADMIN_TOKEN
log "server at $URL"
export INTEROP_TOKEN

# The OpenAPI client is generated from the document the live server serves.
if [ " $* " = "  " ] || [[ " $* " == *" openapi-python "* ]]; then
  log "generating a Python client from $URL/openapi.json (openapi-python-client)"
  curl -fsS "$URL/openapi.json" -o "$WORK/openapi.json" || die "GET /openapi.json failed"
  printf 'project_name_override: runner-api-client\npackage_name_override: runner_api_client\n' >"$WORK/opc.yaml"
  rm -rf "$HERE/py/openapi_gen"
  "$OPC_VENV/bin/openapi-python-client" generate --path "$WORK/openapi.json" --config "$WORK/opc.yaml" \
    --meta none --output-path "$HERE/py/openapi_gen/runner_api_client" >"$WORK/opc.log" 2>&1 \
    || { cat "$WORK/opc.log" >&2; die "openapi-python-client could not generate a client"; }
fi

# --- 4. clients -------------------------------------------------------------------------------
client_command() {
  case "$1" in
    buf-curl) echo "$PY $HERE/py/buf_curl_client.py" ;;
    grpcio) echo "$PY $HERE/py/grpcio_client.py" ;;
    connect-node) echo "node $NODE_DIR/connect_client.mjs" ;;
    curl) echo "$PY $HERE/py/curl_client.py" ;;
    openapi-python) echo "$OPC_PY $HERE/py/openapi_client.py" ;;
    *) die "unknown client $1 (known: buf-curl grpcio connect-node curl openapi-python)" ;;
  esac
}
CLIENTS=("$@")
[ ${#CLIENTS[@]} -gt 0 ] || CLIENTS=(buf-curl grpcio connect-node curl openapi-python)

PASSED=0
FAILED=0
SUMMARY=()
for client in "${CLIENTS[@]}"; do
  cmd="$(client_command "$client")"
  log "client $client"
  set +e
  # shellcheck disable=SC2086 # cmd is "interpreter script"
  timeout "$CLIENT_TIMEOUT" $cmd "$URL" 2>&1 | tee "$WORK/$client.out"
  rc=${PIPESTATUS[0]}
  set -e
  result="$(grep -E "^RESULT $client passed=[0-9]+ failed=[0-9]+$" "$WORK/$client.out" | tail -n 1 || true)"
  if [ -z "$result" ]; then
    p=0 f=1
    echo "  FAIL [$client] client crashed or timed out (exit $rc) before its RESULT line"
  else
    p="$(sed 's/.*passed=\([0-9]*\).*/\1/' <<<"$result")"
    f="$(sed 's/.*failed=\([0-9]*\)$/\1/' <<<"$result")"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
      f=1
      echo "  FAIL [$client] exited $rc although no check failed"
    fi
  fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  SUMMARY+=("$(printf '%-13s %4d passed %4d failed' "$client" "$p" "$f")")
done

# --- 5. stop ----------------------------------------------------------------------------------
set +e
kill -TERM "$SERVER_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "  FAIL [server] still running 10 s after SIGTERM"
  FAILED=$((FAILED + 1))
else
  wait "$SERVER_PID"
  echo "  ok   [server] stopped on SIGTERM (exit $?)"
  PASSED=$((PASSED + 1))
  SERVER_PID=""
fi
# The token every client sent must appear nowhere in the server's log, nor on stdout past the
# first-start lines that show it once.
if grep -qF -- "$INTEROP_TOKEN" "$WORK/server.log" \
  || sed '/^listening on /,$!d' "$WORK/stdout" | grep -qF -- "$INTEROP_TOKEN"; then
  echo "  FAIL [server] the bearer token appears in the server's output"
  FAILED=$((FAILED + 1))
else
  echo "  ok   [server] the bearer token appears nowhere in the server's log"
  PASSED=$((PASSED + 1))
fi
set -e
[ "$FAILED" -eq 0 ] || KEEP_WORK=1

echo
printf '%s\n' "${SUMMARY[@]}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
