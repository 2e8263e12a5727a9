#!/usr/bin/env bash
# cargo audit: no dependency in Cargo.lock with a known vulnerability (RustSec advisory
# database). Installs cargo-audit into .tools/cargo (cargo install) on first use.
#
# The database: .tools/advisory-db if present; else a clone of $RUSTSEC_ADVISORY_DB, which is
# the live database on GitHub by default, or any git source: a path to a clone or to a git
# bundle of it (CI, which cannot reach GitHub, points it at shared/rustsec/advisory-db.bundle).
# Without a database the audit cannot run: it fails when RUNNER_TEST_REQUIRE_AUDIT=1 (as
# .ci/run sets), and otherwise says SKIPPED.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.tools/cargo/bin:$PATH"
if ! cargo-audit --version 2>/dev/null | grep -q '^cargo-audit 0.22.2'; then
  bash scripts/install-tool.sh cargo-audit --version 0.22.2 --no-default-features
fi

db=.tools/advisory-db
source=${RUSTSEC_ADVISORY_DB:-https://github.com/rustsec/advisory-db}
if [ ! -d "$db/.git" ]; then
  rm -rf "$db"
  if ! timeout 120 git clone -q --depth 1 "$source" "$db" 2>/dev/null && ! timeout 120 git clone -q "$source" "$db"; then
    rm -rf "$db"
    if [ "${RUNNER_TEST_REQUIRE_AUDIT:-0}" = 1 ]; then
      echo "cargo audit: the advisory database could not be cloned from $source (set RUSTSEC_ADVISORY_DB)" >&2
      exit 1
    fi
    echo "cargo audit SKIPPED: the advisory database could not be cloned from $source (set RUSTSEC_ADVISORY_DB)"
    exit 0
  fi
fi
echo "advisory database: $(git -C "$db" log -1 --format='%h of %cs')"

# RUSTSEC-2023-0071 (rsa, no fixed version: the Marvin attack) is a timing side channel of RSA
# private-key operations, decryption and signing. rsa is built for one crate only, openidconnect
# (the SSO sign-in), which verifies the providers' RS256 ID-token signatures with their public
# keys; sqlx-mysql, the other crate in Cargo.lock that names it, is never built (sqlite and
# postgres only). The ignore holds only while rsa has no other dependent and our code makes no
# RSA private key (openidconnect's signing keys are for identity providers, not for us):
dependents=$(cargo tree -i rsa --target all -e normal,build --depth 1 --prefix none 2>/dev/null | sed 1d | awk '{print $1}' | sort -u)
if [ -n "$dependents" ] && [ "$dependents" != openidconnect ]; then
  echo "cargo audit: rsa is now built for $(echo $dependents) (cargo tree -i rsa); RUSTSEC-2023-0071 can no longer be ignored" >&2
  exit 1
fi
if grep -rqE --include='*.rs' --exclude-dir=target 'RsaPrivateKey|RsaPrivateSigningKey|rsa::pkcs1v15::SigningKey' crates/ fuzz/ 2>/dev/null; then
  echo "cargo audit: our code makes an RSA private key; RUSTSEC-2023-0071 can no longer be ignored" >&2
  exit 1
fi
cargo-audit audit --db "$db" --no-fetch --stale --deny warnings --ignore RUSTSEC-2023-0071
