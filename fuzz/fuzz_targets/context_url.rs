//! Fuzz target `context_url`: see `fuzz_harness::context_url` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::context_url::run(data));
