//! Replays the fuzz targets' seed corpora (`fuzz/corpus/<target>/`) and every input that once
//! crashed them (`fuzz/regressions/<target>/`) through the same code the libFuzzer binaries run
//! (`fuzz/src/lib.rs`, included here), without libFuzzer. See docs/fuzzing.md.
//!
//! Here rather than in the root package: what the inputs reach is the server's application,
//! in-process, like the rest of this test binary, and so it runs with `cargo test -p
//! runner-server`.

#[path = "../../../../fuzz/src/lib.rs"]
mod fuzz_harness;

use std::path::Path;

/// Runs every file of the target's corpus and regressions; the corpus must not be empty.
fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus", "regressions"] {
        let dir = root.join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let name = file.display().to_string();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {name} fails");
            replayed += 1;
        }
    }
    assert!(replayed > 0, "{target}: no inputs to replay");
}

#[test]
fn requests() {
    replay("requests", fuzz_harness::requests::run);
}

#[test]
fn framing() {
    replay("framing", fuzz_harness::framing::run);
}

#[test]
fn page_token() {
    replay("page_token", fuzz_harness::page_token::run);
}

#[test]
fn context_url() {
    replay("context_url", fuzz_harness::context_url::run);
}
