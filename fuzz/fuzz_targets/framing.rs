//! Fuzz target `framing`: see `fuzz_harness::framing` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::framing::run(data));
