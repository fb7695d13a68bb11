//! include/rampart.h is what cbindgen makes of src/ffi/mod.rs.
//! `RAMPART_WRITE_HEADER=1 cargo test --test header` (scripts/gen-header.sh)
//! rewrites it; otherwise a stale header fails this test.

use std::path::Path;

#[test]
fn header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen reads src/ffi/mod.rs");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = root.join("include/rampart.h");
    if std::env::var_os("RAMPART_WRITE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("include/rampart.h is writable");
        return;
    }
    let current = std::fs::read(&path).unwrap_or_default();
    assert!(current == generated, "include/rampart.h is stale: run scripts/gen-header.sh and commit the result");
}
