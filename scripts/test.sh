#!/usr/bin/env bash
# Runs every test of the project (tests/README.md says where each lives), installing what it
# needs into ignored local folders:
#   - the test OpenID provider (oidc-provider from the npm registry, in .tools/node), then
#   - cargo test --workspace (unit, storage conformance, descriptor-vs-wire.json, and the
#     integration tests over Connect JSON, Connect binary, gRPC and gRPC-web), through
#     cargo-nextest when the machine has it;
#   - the PostgreSQL storage suite and two-replica tests (RUNNER_TEST_POSTGRES_URL);
#   - buf lint and buf build (buf from the npm registry, in .tools/node);
#   - @redocly/cli lint of the OpenAPI description, docs/openapi.json (npm, in .tools/node);
#   - gitpod-api as a library: its documentation with warnings as errors (every generated item
#     carries its proto comment), the quick-start doctest, `cargo package` (built from the
#     packaged copy alone);
#   - the quick start (examples/runner_client.rs) in a crate outside the workspace that has
#     gitpod-api with only its `client` feature (tests/downstream/): its dependency tree holds no
#     axum, connectrpc-axum or HTTP server, and it runs against a live server;
#   - the README walkthrough (a runner agent from creation to deletion): tests/walkthrough/run.sh;
#   - the third-party clients (buf curl, Python grpcio, Node connect-node, curl, and a Python
#     client generated from the OpenAPI description) against a live server: tests/interop/run.sh;
#   - Schemathesis on every operation of the OpenAPI description (no 5xx, answers conform, the
#     server stays up): tests/schemathesis/run.sh;
#   - the official SDKs: tests/sdk/run.sh;
#   - the web console (web/) in Debian's headless Chromium, over gRPC-web and Connect and from
#     another origin, against a live server: tests/browser/run.sh (UPDATE_SCREENSHOT=1 also
#     replaces the README's screenshot, docs/images/console-runners.png);
#   - cargo audit against the RustSec advisory database: scripts/audit.sh;
#   - the soak's 60-second version (docs/soak.md): scripts/soak.sh 60;
#   - the benchmark's smoke version (docs/performance.md): every row, SQLite and PostgreSQL,
#     runs with no failed request, no verdict on the figures: bench/run.sh --smoke;
#   - 30 s of each cargo-fuzz target, unoptimised build (docs/fuzzing.md): scripts/fuzz.sh 30.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Each step says when it starts, in seconds since the command started (where a run's time goes).
# It also says how much disk is left (a full disk fails a link with ld: Bus error, not a message).
step() { printf '\n==> [%ss] %s (disk: %s free)\n' "$SECONDS" "$*" "$(df -h --output=avail . | tail -1 | tr -d ' ')"; }

# The test OpenID provider (panva's oidc-provider, npm, pinned) the SSO tests sign in through.
step "the test OpenID provider: tests/oidc/install.sh"
bash tests/oidc/install.sh

step "cargo test --workspace (all but the PostgreSQL tests)"
if cargo nextest --version >/dev/null 2>&1; then
  # cargo-nextest where the machine has it: each test in its own process, RUNNER_TEST_JOBS (4)
  # at once. The tests mostly wait on servers, clients and providers they start: on two cores
  # this ran the same 408 tests in 169 s where `cargo test` took 740 s. The harness-less
  # benchmark (proto-validate's `cost`) runs once as `cargo test` runs it; nextest runs no
  # doctests (they are the library step's, below).
  cargo nextest run --workspace --lib --bins --tests --examples -E 'not test(postgres)' \
    --test-threads "${RUNNER_TEST_JOBS:-4}" --no-fail-fast
  cargo test --workspace --bench cost
else
  cargo test --workspace --all-targets -- --skip postgres
fi

# The storage conformance suite on PostgreSQL and the two-replica tests. They use
# RUNNER_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), each in a fresh
# schema. Without a reachable server they print one "PostgreSQL suite SKIPPED" line and pass,
# unless RUNNER_TEST_REQUIRE_POSTGRES=1 (as .ci/run sets), which makes them fail.
step "PostgreSQL: the storage conformance suite and two replicas on one database"
pg_log=$(mktemp)
cargo test --workspace --all-targets postgres -- --nocapture >"$pg_log" 2>&1 || { cat "$pg_log"; exit 1; }
grep -E '^test .*postgres.* ok$' "$pg_log" || true
# Without a server every PostgreSQL test says why it skipped; one line says it for all.
skipped=$(grep -c 'PostgreSQL suite SKIPPED' "$pg_log" || true)
if [ "$skipped" -gt 0 ]; then
  echo "$(grep -m1 'PostgreSQL suite SKIPPED' "$pg_log" | sed 's/ ([a-z_]*)//') [$skipped tests]"
fi
rm -f "$pg_log"

step "buf lint / buf build"
if [ ! -x .tools/node/node_modules/.bin/buf ]; then
  mkdir -p .tools/node
  (cd .tools/node && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --no-audit --no-fund --silent @bufbuild/buf@1.75.0)
fi
.tools/node/node_modules/.bin/buf lint
.tools/node/node_modules/.bin/buf build -o /dev/null

# The OpenAPI description: docs/openapi.json is what the server serves (a cargo test checks it);
# here a standard linter checks the document itself (redocly.yaml: the recommended rules).
step "OpenAPI: @redocly/cli lint docs/openapi.json"
if [ ! -x .tools/node/node_modules/.bin/redocly ]; then
  (cd .tools/node && npm install --no-audit --no-fund --silent @redocly/cli@2.77.0)
fi
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true .tools/node/node_modules/.bin/redocly lint docs/openapi.json

step "gitpod-api as a library: docs, the quick-start doctest, the package"
RUSTDOCFLAGS="-D warnings" cargo doc -p gitpod-api --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc -p gitpod-api --no-deps --all-features
# The doctests (gitpod-api's quick start), with the workspace's features: nothing is rebuilt.
cargo test --workspace --doc
# The package holds what building it needs (the include list in Cargo.toml), nothing else; then
# it is built from the unpacked .crate alone, with registry dependencies.
files=$(cargo package -p gitpod-api --allow-dirty --list)
echo "$files"
extra=$(grep -Ev '^(Cargo\.toml(\.orig)?|Cargo\.lock|\.cargo_vcs_info\.json|build\.rs|README\.md|LICENSE|examples/runner_client\.rs|proto/.+\.proto|src/.+\.rs)$' <<<"$files" || true)
[ -z "$extra" ] || { echo "the gitpod-api package holds files building it does not need:"; echo "$extra"; exit 1; }
cargo package -p gitpod-api --allow-dirty

step "build the server and the agent"
cargo build -p runner-server -p runner-agent --bins
target_dir=${CARGO_TARGET_DIR:-$root/target}
export RUNNER_SERVER_BIN="$target_dir/debug/runner-server"

step "downstream: the quick start, with gitpod-api's client feature only, against a live server"
downstream=(--manifest-path tests/downstream/Cargo.toml --locked)
tree=$(cargo tree "${downstream[@]}" -e normal,features --prefix none)
for banned in 'axum ' 'connectrpc-axum ' 'hyper feature "server"' 'hyper-util feature "server' 'tonic feature "server"' 'tonic feature "router"'; do
  if grep -q "^$banned" <<<"$tree"; then
    echo "a crate with gitpod-api's client feature only depends on: $(grep -m1 "^$banned" <<<"$tree")"
    exit 1
  fi
done
# Its own workspace and lock file, our target directory: only what its features change is
# compiled again (gitpod-api, tonic and their dependents).
CARGO_TARGET_DIR=$target_dir cargo build "${downstream[@]}"
source tests/lib/server.sh
work=$(mktemp -d)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
start_server "$RUNNER_SERVER_BIN" "$work" || exit 1
"$target_dir/debug/quick-start" "$SERVER_URL" "$ADMIN_TOKEN"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=

step "README walkthrough: a runner from creation to deletion"
bash tests/walkthrough/run.sh

step "third-party clients: buf curl, grpcio, connect-node, curl, a client generated from the OpenAPI description"
bash tests/interop/run.sh

step "Schemathesis: every operation of the OpenAPI description, seeded, against a live server"
bash tests/schemathesis/run.sh

step "official SDKs: gitpod-sdk 0.11.0 and 1.2.0"
bash tests/sdk/run.sh

step "web console: headless Chromium over gRPC-web and Connect, and from another origin"
bash tests/browser/run.sh

step "cargo audit: no known vulnerabilities in Cargo.lock"
bash scripts/audit.sh

step "soak, CI version: 60 s of mixed traffic on every protocol against 100,000 runners"
bash scripts/soak.sh 60

step "benchmark, smoke version: every call and protocol under h2load, no request failed"
bash bench/run.sh --smoke

step "fuzzing: 30 s of each cargo-fuzz target (unoptimised build: about 3.5 minutes from cold)"
FUZZ_PROFILE=dev bash scripts/fuzz.sh 30
