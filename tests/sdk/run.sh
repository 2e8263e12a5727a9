#!/usr/bin/env bash
# The two official Python SDKs, both published as `gitpod-sdk`, against a live runner-server.
#
#   bash tests/sdk/run.sh
#
# 1. installs each SDK with pytest into its own venv (they conflict: both own the `gitpod` package):
#    .tools/sdk-0.11  gitpod-sdk==0.11.0, the Stainless SDK (`import gitpod`, Connect JSON)
#    .tools/sdk-1.2   gitpod-sdk==1.2.0, the Ona SDK (`import ona_sdk`, binary Connect)
# 2. starts the server ($RUNNER_SERVER_BIN, default $CARGO_TARGET_DIR/debug/runner-server, built if
#    missing) on port 0 with a fresh database and key file, stdout and stderr captured to files
#    (tests/lib/server.sh);
#    reads the admin token of the first start, then creates two groups with
#    `runner-server admin create-group` on the same database while the server runs; a fake of
#    GitHub's REST API (tests/sdk/fake_github.py) serves the SCM flow's ParseContextURL;
# 3. runs tests/sdk/test_stainless.py and tests/sdk/test_ona.py with pytest, each in its venv,
#    against http://ADDR/api; test_ona.py a second time with ONA_USE_GET=1, where every call of a
#    NO_SIDE_EFFECTS method goes as Connect GET (`use_get=True`);
# 4. stops the server with SIGTERM and scans its stdout (except the first-start token lines),
#    its stderr log and every response body the tests received for every secret the tests sent
#    (tests/sdk/scan_secrets.py);
# 5. prints `N passed, M failed` and exits non-zero if anything failed.
#
# KEEP_WORK=1 keeps the work folder (server logs, recorded responses, pytest output).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE=tests/sdk
SDK_TIMEOUT=300 # seconds per SDK run

log() { printf '== %s\n' "$*" >&2; }
# A setup failure still ends with the summary line, counted as one failed check.
die() { printf 'run.sh: %s\n' "$*" >&2; printf '0 passed, 1 failed\n'; exit 2; }

# Both SDKs talk to 127.0.0.1; never through a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

# --- 1. SDKs ----------------------------------------------------------------------------------
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
[ -n "$PYTHON" ] || die "python3 is required"
install_sdk() { # venv, pip requirement, import check
  local venv=$1 req=$2 check=$3
  if ! "$venv/bin/python" -c "$check" 2>/dev/null; then
    log "installing $req and pytest into $venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv" || die "cannot create $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$req" 'pytest>=8' ||
      die "pip install $req failed"
    "$venv/bin/python" -c "$check" || die "$req installed but its import check failed"
  fi
}
install_sdk .tools/sdk-0.11 gitpod-sdk==0.11.0 \
  'import importlib.metadata as m, gitpod, gitpod.lib.runner, pytest; assert m.version("gitpod-sdk") == "0.11.0"'
install_sdk .tools/sdk-1.2 gitpod-sdk==1.2.0 \
  'import importlib.metadata as m, ona_sdk, gitpod.v1.runner_connect, pytest; assert m.version("gitpod-sdk") == "1.2.0"'

# --- 2. server --------------------------------------------------------------------------------
if [ -n "${RUNNER_SERVER_BIN:-}" ]; then
  BIN="$RUNNER_SERVER_BIN"
else
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/runner-server"
  if [ ! -x "$BIN" ]; then
    log "building runner-server"
    cargo build --quiet -p runner-server
  elif [ -n "$(find crates src proto build.rs Cargo.toml -newer "$BIN" -print -quit 2>/dev/null)" ]; then
    log "warning: $BIN is older than the sources; run 'cargo build -p runner-server' to test them"
  fi
fi
[ -x "$BIN" ] || die "server binary $BIN not found (set RUNNER_SERVER_BIN or run cargo build -p runner-server)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/runner-sdk.XXXXXX")"
SERVER_PID=""
GITHUB_PID=""
cleanup() {
  [ -z "$GITHUB_PID" ] || kill "$GITHUB_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fake of GitHub's REST API for the SCM flow (get_authenticated_identity, set_scm_pat,
# parse_context_url): the server reaches github.com's API there (--scm-api-url).
"$PYTHON" "$HERE/fake_github.py" "$WORK/github.port" &
GITHUB_PID=$!
for _ in $(seq 100); do [ -s "$WORK/github.port" ] && break; sleep 0.1; done
[ -s "$WORK/github.port" ] || die "the fake GitHub did not start"
export SDK_FAKE_GITHUB="http://127.0.0.1:$(cat "$WORK/github.port")"

log "starting $BIN"
source tests/lib/server.sh
start_server "$BIN" "$WORK" --scm-api-url "github.com=$SDK_FAKE_GITHUB" || die "the server did not start"
URL=$SERVER_URL
DB=$SERVER_DATABASE_URL
log "server at $URL"
# Printed once, on the first start with an empty database; passed to the tests, never printed here.
SDK_TOKEN=$ADMIN_TOKEN
printf 'sent\trun.sh:admin token\t%s\n' "$SDK_TOKEN" >"$WORK/secrets.tsv"

# Groups for the runner policies, made by the admin CLI on the live database (SQLite WAL) in the
# organization the first start created.
GROUP_IDS=""
for g in team ops; do
  out="$("$BIN" --database-url "$DB" admin create-group --org default "$g" 2>"$WORK/admin-$g.err")" ||
    { cat "$WORK/admin-$g.err" >&2; die "admin create-group $g failed"; }
  id="$(sed -n "s/^group \([0-9a-f-]\{36\}\) $g\$/\1/p" <<<"$out")"
  [ -n "$id" ] || die "admin create-group $g printed no 'group <uuid> $g' line: $out"
  GROUP_IDS="${GROUP_IDS:+$GROUP_IDS,}$id"
done
log "groups team and ops created"

# Two users per SDK for the UserService and OrganizationService tests (users join an organization
# through the admin subcommands until invitations exist): one to change and delete, and one with a
# token, who leaves.
for sdk in stainless ona ona-get; do
  var="$(tr a-z- A-Z_ <<<"$sdk")"
  for who in one two; do
    out="$("$BIN" --database-url "$DB" admin create-user --org default "$sdk member $who" 2>"$WORK/admin-user.err")" ||
      { cat "$WORK/admin-user.err" >&2; die "admin create-user failed"; }
    id="$(sed -n 's/^user \([0-9a-f-]\{36\}\) .*/\1/p' <<<"$out")"
    [ -n "$id" ] || die "admin create-user printed no 'user <uuid> …' line: $out"
    export "SDK_MEMBER_${who^^}_${var}=$id"
  done
  out="$("$BIN" --database-url "$DB" admin issue-token --member "$id" --expires-in-days 1 2>"$WORK/admin-user.err")" ||
    { cat "$WORK/admin-user.err" >&2; die "admin issue-token failed"; }
  token="$(sed -n 's/^token \([^ ]*\) .*/\1/p' <<<"$out")"
  [ -n "$token" ] || die "admin issue-token printed no token"
  printf 'sent\trun.sh:%s member token\t%s\n' "$sdk" "$token" >>"$WORK/secrets.tsv"
  export "SDK_MEMBER_TWO_TOKEN_${var}=$token"
done
log "users for the user and organization tests created"

export SDK_BASE_URL="$URL/api" SDK_TOKEN SDK_GROUP_IDS="$GROUP_IDS" SDK_WORK="$WORK"

# --- 3. SDK tests -----------------------------------------------------------------------------
PASSED=0
FAILED=0
SUMMARY=()
run_sdk() { # name, venv, test file
  local name=$1 venv=$2 file=$3 rc p f
  log "$name: $("$venv/bin/python" -c 'import importlib.metadata as m; print("gitpod-sdk", m.version("gitpod-sdk"))')"
  set +e
  SDK_NAME=$name timeout "$SDK_TIMEOUT" "$venv/bin/python" -m pytest "$file" -v -p no:cacheprovider \
    --rootdir="$HERE" --junitxml="$WORK/$name.xml" -o junit_family=xunit2 --tb=short 2>&1 | tee "$WORK/$name.out"
  rc=${PIPESTATUS[0]}
  set -e
  # Counted from the JUnit report: skipped tests count as failed (there must be none).
  read -r p f < <("$venv/bin/python" - "$WORK/$name.xml" <<'EOF' 2>/dev/null || echo "0 1"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
s = root if root.tag == "testsuite" else root.find("testsuite")
tests, bad = int(s.get("tests")), sum(int(s.get(k, 0)) for k in ("failures", "errors", "skipped"))
print(tests - bad, bad)
EOF
  )
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "  FAIL [$name] pytest exited $rc although no test failed"
  fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  SUMMARY+=("$(printf '%-10s %4d passed %4d failed' "$name" "$p" "$f")")
}
run_sdk stainless .tools/sdk-0.11 "$HERE/test_stainless.py"
run_sdk ona .tools/sdk-1.2 "$HERE/test_ona.py"
# The Ona suite again with every NO_SIDE_EFFECTS call sent as Connect GET (`use_get=True`).
ONA_USE_GET=1 run_sdk ona-get .tools/sdk-1.2 "$HERE/test_ona.py"

# --- 4. stop, then scan -----------------------------------------------------------------------
set +e
kill -TERM "$SERVER_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "  FAIL [server] still running 10 s after SIGTERM"
  FAILED=$((FAILED + 1))
  SUMMARY+=("$(printf '%-10s %4d passed %4d failed' server 0 1)")
else
  wait "$SERVER_PID"
  rc=$?
  SERVER_PID=""
  if [ "$rc" -eq 0 ]; then
    echo "  ok   [server] stopped on SIGTERM (exit 0)"
    PASSED=$((PASSED + 1))
    SUMMARY+=("$(printf '%-10s %4d passed %4d failed' server 1 0)")
  else
    echo "  FAIL [server] exit $rc after SIGTERM"
    FAILED=$((FAILED + 1))
    SUMMARY+=("$(printf '%-10s %4d passed %4d failed' server 0 1)")
  fi
fi
"$PYTHON" "$HERE/scan_secrets.py" "$WORK" | tee "$WORK/scan.out"
set -e
result="$(grep -E '^RESULT scan passed=[0-9]+ failed=[0-9]+$' "$WORK/scan.out" | tail -n 1 || true)"
if [ -z "$result" ]; then
  p=0 f=1
  echo "  FAIL [scan] scan_secrets.py crashed before its RESULT line"
else
  p="$(sed 's/.*passed=\([0-9]*\).*/\1/' <<<"$result")"
  f="$(sed 's/.*failed=\([0-9]*\)$/\1/' <<<"$result")"
fi
PASSED=$((PASSED + p))
FAILED=$((FAILED + f))
SUMMARY+=("$(printf '%-10s %4d passed %4d failed' "scan" "$p" "$f")")

[ "$FAILED" -eq 0 ] || KEEP_WORK=1

echo
printf '%s\n' "${SUMMARY[@]}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
