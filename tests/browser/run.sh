#!/usr/bin/env bash
# The web console (web/) in a real headless Chromium, against a live runner-server.
#
#   bash tests/browser/run.sh
#
# 1. installs Debian's chromium if /usr/bin/chromium is missing (Playwright's own browser
#    download is not used), and the Node packages of web/ and tests/browser/ (npm ci);
# 2. builds the console (web/dist; the client is generated from proto/ first);
# 3. starts the server ($RUNNER_SERVER_BIN, else the debug build, built here) on a free port with
#    a fresh temporary database and --console-dir web/dist, reads the admin token it prints, and
#    makes a group with `runner-server admin create-group` for the policies page;
#    then the test OpenID provider (tests/oidc/: panva's oidc-provider, installed by
#    tests/oidc/install.sh) on a free port, whose client may redirect to the server's
#    /auth/sso/callback;
# 4. runs console.test.mjs with node:test: both transports (gRPC-web and Connect), the console
#    from another origin (CORS), and a screenshot of the runners page (copied to
#    docs/images/console-runners.png, the README's, with UPDATE_SCREENSHOT=1);
# 5. stops the server; exits non-zero if any test failed.
#
# TEST_NAME_PATTERN=REGEX runs only the tests whose names match (node --test-name-pattern), e.g.
# TEST_NAME_PATTERN='live pages' for the live console's tests.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE=tests/browser
log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

# --- 1. browser and packages --------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is required"

npm_ci() { # DIR: npm ci when node_modules is missing or older than the lock file
  if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    log "installing Node packages into $1/node_modules"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci web
npm_ci "$HERE"
bash tests/oidc/install.sh

# --- 2. the console -----------------------------------------------------------------------------
log "building the console"
(cd web && npm run --silent build >/dev/null)
[ -f web/dist/index.html ] || die "web/dist/index.html was not built"

# --- 3. server ----------------------------------------------------------------------------------
if [ -n "${RUNNER_SERVER_BIN:-}" ]; then
  BIN="$RUNNER_SERVER_BIN"
else
  log "building runner-server (debug)"
  cargo build --quiet -p runner-server --bins
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/runner-server"
fi
[ -x "$BIN" ] || die "server binary $BIN not found"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/runner-browser.XXXXXX")"
SERVER_PID=""
OIDC_PID=""
cleanup() {
  if [ -n "$OIDC_PID" ] && kill -0 "$OIDC_PID" 2>/dev/null; then
    kill -TERM "$OIDC_PID" 2>/dev/null || true
    wait "$OIDC_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "server log kept in $WORK/server.log"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The seeded ACTIVE runners report once; a long heartbeat timeout keeps them ACTIVE meanwhile.
source tests/lib/server.sh
start_server "$BIN" "$WORK" --console-dir web/dist --heartbeat-timeout-seconds 3600 || die "the server did not start"
URL=$SERVER_URL
log "server at $URL, serving the console from web/dist"
# A group to grant roles to on the policies page (made with the admin subcommand, as a bootstrap would).
GROUP_ID="$("$BIN" admin --database-url "$SERVER_DATABASE_URL" --key-file "$WORK/server.key" \
  create-group --org default "Platform team" 2>/dev/null | sed -n 's/^group \([0-9a-f-]*\) .*/\1/p')"
[ -n "$GROUP_ID" ] || die "runner-server admin create-group printed no group id"
# A user and a service account to put into groups and share runners with, by name.
admin_cmd() { "$BIN" admin --database-url "$SERVER_DATABASE_URL" --key-file "$WORK/server.key" "$@" >/dev/null; }
admin_cmd create-user --org default "Dana Browser" || die "runner-server admin create-user failed"
admin_cmd create-service-account --org default ci-bot || die "runner-server admin create-service-account failed"
# Users for the members page (users join an organization through the admin subcommands until
# invitations exist): one per transport to change and remove, and a member who signs in to see
# the page without an admin's controls.
admin_out() { "$BIN" admin --database-url "$SERVER_DATABASE_URL" --key-file "$WORK/server.key" "$@" 2>/dev/null; }
for who in grpc-web connect connect-binary; do
  admin_out create-user --org default "$who member" >/dev/null || die "runner-server admin create-user failed"
done
admin_out create-user --org default "Viewer" >/dev/null || die "runner-server admin create-user failed"
MEMBER_TOKEN="$(admin_out issue-token --member Viewer --org default | sed -n 's/^token \([^ ]*\) .*/\1/p')"
[ -n "$MEMBER_TOKEN" ] || die "runner-server admin issue-token printed no token"
# A second organization, with an admin whose token reads its invite link, and one user per
# transport in the first who joins it by that link, signed in.
admin_out create-org second >/dev/null || die "runner-server admin create-org failed"
admin_out create-user --org second "Second admin" --role admin >/dev/null || die "runner-server admin create-user failed"
SECOND_ADMIN_TOKEN="$(admin_out issue-token --member "Second admin" --org second | sed -n 's/^token \([^ ]*\) .*/\1/p')"
[ -n "$SECOND_ADMIN_TOKEN" ] || die "runner-server admin issue-token printed no token"
JOINER_TOKENS=""
for who in grpc-web connect connect-binary; do
  admin_out create-user --org default "$who joiner" >/dev/null || die "runner-server admin create-user failed"
  token="$(admin_out issue-token --member "$who joiner" --org default | sed -n 's/^token \([^ ]*\) .*/\1/p')"
  [ -n "$token" ] || die "runner-server admin issue-token printed no token"
  JOINER_TOKENS="$JOINER_TOKENS $who=$token"
done

# The test OpenID provider, which knows the server's callback (the server's public URL is its
# listen URL); it prints "issuer URL" once it listens.
OIDC_REDIRECT_URIS="$URL/auth/sso/callback" node tests/oidc/provider.mjs >"$WORK/oidc.out" 2>"$WORK/oidc.log" &
OIDC_PID=$!
OIDC_ISSUER=""
for _ in $(seq 300); do
  OIDC_ISSUER="$(sed -n 's#^issuer \(http://127\.0\.0\.1:[0-9][0-9]*\)$#\1#p' "$WORK/oidc.out")"
  [ -n "$OIDC_ISSUER" ] && break
  kill -0 "$OIDC_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$OIDC_ISSUER" ] || { cat "$WORK/oidc.log" >&2; die "the test OpenID provider did not start"; }
log "test OpenID provider at $OIDC_ISSUER"

# --- 4. tests -----------------------------------------------------------------------------------
# The screenshot is always taken; it replaces the README's only with UPDATE_SCREENSHOT=1, so
# that a test run leaves the checkout clean.
shot="$WORK/console-runners.png"
set +e
# The whole suite takes 3 to 4 minutes on a shared 2-core machine (the live pages add about 25 s):
# the bound leaves room for a loaded CI runner.
(cd "$HERE" && CONSOLE_URL="$URL" API_TOKEN="$ADMIN_TOKEN" CONSOLE_DIST="$ROOT/web/dist" \
  GROUP_ID="$GROUP_ID" MEMBER_TOKEN="$MEMBER_TOKEN" SCREENSHOT="$shot" \
  OIDC_ISSUER="$OIDC_ISSUER" OIDC_CLIENT_ID=runner-api OIDC_CLIENT_SECRET=runner-api-secret \
  SECOND_ADMIN_TOKEN="$SECOND_ADMIN_TOKEN" JOINER_TOKENS="$JOINER_TOKENS" \
  timeout 480 node --test --test-concurrency=1 --test-reporter=spec \
    ${TEST_NAME_PATTERN:+--test-name-pattern="$TEST_NAME_PATTERN"} console.test.mjs)
rc=$?
set -e
[ "$rc" = 0 ] || { tail -n 40 "$WORK/server.log" >&2; log "browser tests FAILED"; exit 1; }
if [ -n "${TEST_NAME_PATTERN:-}" ]; then log "browser tests matching /$TEST_NAME_PATTERN/ passed"; exit 0; fi
[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || die "no PNG screenshot was taken"
if [ "${UPDATE_SCREENSHOT:-0}" = 1 ]; then
  mkdir -p docs/images && cp "$shot" docs/images/console-runners.png
  log "browser tests passed; screenshot updated: docs/images/console-runners.png"
else
  log "browser tests passed (UPDATE_SCREENSHOT=1 replaces docs/images/console-runners.png)"
fi
