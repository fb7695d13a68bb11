//! Fuzz target `body_json`: see `check_body_json` in fuzz/src/lib.rs for the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::check_body_json(data));
