//! Fuzz target `parse_rules`: see `check_parse_rules` in fuzz/src/lib.rs for the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::check_parse_rules(data));
