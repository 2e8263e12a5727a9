#!/usr/bin/env bash
# Runs the README's "Run a runner" walkthrough as pasted, against a live server, and checks
# what a newcomer would see: the runner ACTIVE, then gone, and the agent acknowledging.
#
#   bash tests/walkthrough/run.sh
#
# The only edits to the pasted commands: the debug binaries stand in for the release build
# (RUNNER_SERVER_BIN, RUNNER_AGENT_BIN, default target/debug/…), and the port the server got
# (tests/lib/server.sh starts it on port 0) for 8080.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
server_bin=${RUNNER_SERVER_BIN:-$target_dir/debug/runner-server}
agent_bin=${RUNNER_AGENT_BIN:-$target_dir/debug/runner-agent}
for bin in "$server_bin" "$agent_bin"; do [ -x "$bin" ] || { echo "missing $bin (cargo build --bins)"; exit 1; }; done

# The first ```sh block after the heading.
script=$(awk '/^## Run a runner/{h=1} h&&/^```sh/{b=1;next} b&&/^```/{exit} b{print}' "$ROOT/README.md")
[ -n "$script" ] || { echo "README has no Run a runner walkthrough"; exit 1; }

work=$(mktemp -d)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; pkill -f "$work/agent-bin" 2>/dev/null || true; rm -rf "$work"' EXIT
source "$ROOT/tests/lib/server.sh"
start_server "$server_bin" "$work" || exit 1
cp "$agent_bin" "$work/agent-bin"
script=${script//cargo build --release -p runner-agent/:}
script=${script//.\/target\/release\/runner-agent/$work/agent-bin}
script=${script//127.0.0.1:8080/${SERVER_URL#http://}}

cd "$work"
TOKEN=$ADMIN_TOKEN
export TOKEN

echo "== running the walkthrough (about 20 s)"
printf '%s\n' "$script" > walkthrough.sh
bash -e walkthrough.sh > walkthrough.out 2>&1 || { cat walkthrough.out; echo "the walkthrough failed"; exit 1; }
cat walkthrough.out

fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
check "the runner became ACTIVE with the agent's key and version" \
  "grep -q '\"phase\":\"RUNNER_PHASE_ACTIVE\"' walkthrough.out && grep -q '\"version\":\"reference-agent/' walkthrough.out && grep -q '\"publicKey\"' walkthrough.out"
check "after deletion GetRunner answers not_found" "tail -n 1 walkthrough.out | grep -q '\"code\":\"not_found\"'"
check "the agent acknowledged the deletion" "grep -q 'deletion acknowledged' agent.log"
check "no exchange or access token in the agent's log" "! grep -qE 'gpx_|gpr_' agent.log"
exit $fail
