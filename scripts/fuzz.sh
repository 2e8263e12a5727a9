#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 30) and prints one line per target.
# Exits non-zero if any target crashed (or failed to build). See docs/fuzzing.md.
#
#   scripts/fuzz.sh        # 30 s per target, as CI runs it
#   scripts/fuzz.sh 600    # a longer run
#
# Choices:
# - The machine has only the stable toolchain; cargo fuzz passes nightly-only flags, which
#   RUSTC_BOOTSTRAP=1 lets stable rustc accept.
# - `--sanitizer none`: every crate of ours forbids unsafe code, so AddressSanitizer would
#   mostly instrument safe Rust and the bundled SQLite at several times the cost per input;
#   panics (including overflow checks and debug assertions, which cargo fuzz keeps on in its
#   optimised build) are what the targets look for.
# - New inputs go to $FUZZ_TARGET_DIR/work-corpus/<target> (default fuzz/target, git-ignored);
#   the seeds in fuzz/corpus/<target> are only read. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-4096}"
INPUT_TIMEOUT_S="${FUZZ_INPUT_TIMEOUT_S:-30}"
TARGETS=(requests framing page_token context_url)
# Where the fuzz build goes (and the run's logs and new inputs). A fresh clone starts cold
# (25-35 minutes to build on 2 cores); CI can point this at a directory kept between runs.
FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-fuzz/target}"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

export PATH="$ROOT/.tools/cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    bash scripts/install-tool.sh cargo-fuzz
fi

FUZZ_FLAGS=(--fuzz-dir fuzz --sanitizer none)
# FUZZ_PROFILE=dev builds without optimisation: several times faster to build from cold, slower
# per input; what CI uses for its short runs. The default (release) is for long runs.
profile_dir=release
if [ "${FUZZ_PROFILE:-release}" = dev ]; then
    FUZZ_FLAGS+=(--dev)
    profile_dir=debug
fi
build_start=$(date +%s)
cargo fuzz build "${FUZZ_FLAGS[@]}" --target-dir "$FUZZ_TARGET_DIR"
echo "fuzz: built in $(($(date +%s) - build_start)) s"
# The binaries just built are run directly: `cargo fuzz run` would rebuild before each target
# whenever a source file changed meanwhile.
BIN_DIR="$FUZZ_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/$profile_dir"

# One target's run; its result line goes to $FUZZ_TARGET_DIR/fuzz-<target>.result.
fuzz_target() {
    local target=$1 work="$FUZZ_TARGET_DIR/work-corpus/$1" log="$FUZZ_TARGET_DIR/fuzz-$1.log" rc result
    mkdir -p "$work" "fuzz/artifacts/$target" "fuzz/corpus/$target"
    set +e
    "$BIN_DIR/$target" "$work" "fuzz/corpus/$target" \
        -max_total_time="$SECONDS_PER_TARGET" \
        -rss_limit_mb="$RSS_LIMIT_MB" \
        -timeout="$INPUT_TIMEOUT_S" \
        -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" \
        >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    if [ "$rc" -eq 0 ]; then
        result="ok"
    else
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/Test unit written to //')
        result="CRASH (exit $rc${artifact:+, input $artifact}; log $log)"
    fi
    echo "fuzz: $target: ${execs:-?} execs in ${SECONDS_PER_TARGET} s (${rate:-?}/s, cov ${cov:-?}): $result" \
        >"$FUZZ_TARGET_DIR/fuzz-$target.result"
}

# libFuzzer runs one input at a time on one core: the targets run FUZZ_JOBS at once (default:
# one per core), each for its full time.
jobs=${FUZZ_JOBS:-$(nproc)}
for target in "${TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    rm -f "$FUZZ_TARGET_DIR/fuzz-$target.result"
    fuzz_target "$target" &
done
wait

failed=0
summary=()
for target in "${TARGETS[@]}"; do
    line=$(cat "$FUZZ_TARGET_DIR/fuzz-$target.result" 2>/dev/null || echo "fuzz: $target: no result")
    summary+=("$line")
    case "$line" in *": ok") ;; *) failed=1 ;; esac
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED; reproduce with: $BIN_DIR/<target> <input>  (docs/fuzzing.md)"
    exit 1
fi
