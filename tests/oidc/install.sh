#!/usr/bin/env bash
# Installs the test OpenID provider (panva's oidc-provider, a certified OpenID Provider, from
# the npm registry, pinned) into .tools/node beside the other Node tools, unless it is there.
# tests/oidc/provider.mjs runs it; runner_testkit::oidc starts that script for the Rust tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=9.13.3
installed=$(node -p "require('./.tools/node/node_modules/oidc-provider/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
  mkdir -p .tools/node
  (cd .tools/node && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --silent "oidc-provider@$version")
fi
