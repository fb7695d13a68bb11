//! Fuzz target `transforms`: see `check_transforms` in fuzz/src/lib.rs for the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::check_transforms(data));
