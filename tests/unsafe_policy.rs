//! The `unsafe` policy (SECURITY.md, docs/hardening.md): the C ABI
//! (`src/ffi/`) and the CLI's counting allocator (`src/bin/rampart/alloc.rs`)
//! are the only places allowed `unsafe`. The crate roots deny it and every
//! other module forbids it, so the compiler enforces the rest; this test keeps
//! the attributes from being dropped and a new top-level module from
//! escaping the policy.

use std::fs;
use std::path::Path;

const FORBID: &str = "#![forbid(unsafe_code)]";

fn src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

#[test]
fn crate_roots_deny_unsafe_code() {
    for root in ["lib.rs", "bin/rampart/main.rs"] {
        let text = fs::read_to_string(src().join(root)).expect("the crate root is readable");
        assert!(text.contains("#![deny(unsafe_code)]"), "src/{root} must deny unsafe_code");
    }
}

#[test]
fn every_module_but_the_ffi_forbids_unsafe_code() {
    let mut checked = 0;
    for entry in fs::read_dir(src()).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let module = if path.is_dir() {
            if name == "ffi" || name == "bin" {
                continue;
            }
            path.join("mod.rs")
        } else if name.ends_with(".rs") && name != "lib.rs" {
            path.clone()
        } else {
            continue;
        };
        let text = fs::read_to_string(&module).unwrap_or_else(|e| panic!("{}: {e}", module.display()));
        assert!(text.contains(FORBID), "{} must start with {FORBID}", module.display());
        checked += 1;
    }
    assert!(checked >= 6, "the library's modules were found ({checked})");

    let bin = src().join("bin/rampart");
    for entry in fs::read_dir(&bin).expect("src/bin/rampart is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "main.rs" || name == "alloc.rs" || !name.ends_with(".rs") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("a CLI module is readable");
        assert!(text.contains(FORBID), "{} must start with {FORBID}", path.display());
    }
}
