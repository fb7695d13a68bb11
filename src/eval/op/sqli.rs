//! TEMPORARY: libinjection SQLi through the crate until the zero-allocation
//! implementation lands.
pub(crate) fn detect_sqli(input: &[u8]) -> bool {
    libinjectionrs::detect_sqli(input).is_injection()
}
