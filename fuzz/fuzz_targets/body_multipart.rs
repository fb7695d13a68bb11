//! Fuzz target `body_multipart`: see `check_body_multipart` in fuzz/src/lib.rs for the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::check_body_multipart(data));
