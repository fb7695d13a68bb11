//! Fuzz target `body_urlencoded`: see `check_body_urlencoded` in fuzz/src/lib.rs for the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::check_body_urlencoded(data));
