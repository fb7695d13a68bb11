//! Embeds the default rule set (rules/*.rules, *.data, rampart.toml) into the
//! library, so `Ruleset::default_rules()` and the CLI work without files.
//! Writes only into OUT_DIR.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            // Rule tests are data for `rampart test`, not part of the rule set.
            if path.file_name().is_some_and(|n| n == "tests") && dir == root {
                continue;
            }
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rules" || e == "data" || e == "toml") {
            out.push(path);
        }
    }
}

fn main() {
    // The shared library's SONAME carries the ABI major version, so hosts
    // linked against ABI 1 keep loading a compatible librampart.so.1.
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librampart.so.1");
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    let mut code = String::from(
        "/// The default rule set's files: (path under rules/, text).\npub(crate) static DEFAULT_FILES: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let rel = path.strip_prefix(&manifest).expect("under the manifest dir");
        let rel = rel.to_string_lossy().replace('\\', "/");
        let _ = writeln!(code, "    ({rel:?}, include_str!({:?})),", path.display().to_string());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("default_rules.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
