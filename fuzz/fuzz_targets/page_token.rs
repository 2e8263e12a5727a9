//! Fuzz target `page_token`: see `fuzz_harness::page_token` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::page_token::run(data));
