//! Fuzz target `ffi_calls`: see `check_ffi_calls` in fuzz/src/lib.rs for the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::check_ffi_calls(data));
