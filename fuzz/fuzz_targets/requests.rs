//! Fuzz target `requests`: see `fuzz_harness::requests` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::requests::run(data));
