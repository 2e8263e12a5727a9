#!/usr/bin/env bash
# Property-based tests of every operation of the OpenAPI description, with Schemathesis (PyPI),
# against a live runner-server with the admin token.
#
#   bash tests/schemathesis/run.sh [EXAMPLES]    EXAMPLES: test cases per operation and phase
#                                                (default 15, the CI run; docs/robustness.md has
#                                                a longer run's figures)
#
# 1. installs Schemathesis into .tools/schemathesis (a venv) if missing;
# 2. starts the server ($RUNNER_SERVER_BIN, else the debug build) on a free port with a fresh
#    database (tests/lib/server.sh);
# 3. runs every operation of GET /openapi.json, seeded (SEED, default 20261206), with valid and
#    invalid requests (examples, coverage and fuzzing phases; no example database, so the seed
#    alone decides), checking that no answer is a 5xx,
#    that every answer's status, content type, headers and body conform to the document (error
#    bodies included), that a request without the token is refused, and that other HTTP methods
#    get 405 with Allow (tests/schemathesis/schemathesis.toml);
# 4. checks that the server still answers /healthz and logged no panic, then stops it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE=tests/schemathesis
VENV=.tools/schemathesis
EXAMPLES=${1:-15}
SEED=${SEED:-20261206}
log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

if ! "$VENV/bin/python" -c 'import schemathesis, sys; sys.exit(schemathesis.__version__ != "4.32.5")' 2>/dev/null; then
  PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
  [ -n "$PYTHON" ] || die "python3 is required"
  log "installing Schemathesis into $VENV"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

source tests/lib/server.sh
server_bin "$ROOT" || die "no server binary"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/runner-schemathesis.XXXXXX")"
cleanup() {
  end_server
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "server log and reports kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server "$BIN" "$WORK" || die "the server did not start"
log "server at $SERVER_URL; $EXAMPLES examples per operation, seed $SEED"

set +e
# The token goes in through the configuration file's environment substitution, never on the
# command line (where ps would show it).
API_TOKEN="$ADMIN_TOKEN" "$VENV/bin/st" --config-file "$HERE/schemathesis.toml" run "$SERVER_URL/openapi.json" \
  --url "$SERVER_URL/api" --seed "$SEED" --max-examples "$EXAMPLES" --workers 1 \
  --phases examples,coverage,fuzzing --generation-database none --no-color --report junit,ndjson \
  --report-dir "$WORK/report"
rc=$?
set -e

alive=0
curl -fsS "$SERVER_URL/healthz" >/dev/null && alive=1
panics=$(grep -c 'panicked' "$WORK/server.log" || true)
[ "$alive" = 1 ] || { KEEP_WORK=1; log "the server no longer answers /healthz"; }
[ "$panics" = 0 ] || { KEEP_WORK=1; grep -m5 'panicked' "$WORK/server.log" >&2; log "the server logged $panics panics"; }
if [ "$rc" != 0 ] || [ "$alive" != 1 ] || [ "$panics" != 0 ]; then
  KEEP_WORK=1
  log "Schemathesis FAILED (exit $rc)"
  exit 1
fi
log "Schemathesis passed: every operation, no 5xx, every answer conforms; the server is up"
