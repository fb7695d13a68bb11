//! Fuzz target `config_toml`: see `check_config_toml` in fuzz/src/lib.rs for the properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::check_config_toml(data));
