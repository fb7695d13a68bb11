//! The C ABI, from C: builds `bindings/c/tests/*.c` and `bindings/c/example.c`
//! with the system C compiler against `include/rampart.h` and runs them:
//!
//! - natively, linked to `librampart.so` (with an rpath);
//! - again under valgrind (`--leak-check=full`, definite leaks and every
//!   memory error fail), when `valgrind` is on PATH;
//! - again with AddressSanitizer and UBSan (leak checking on), when the
//!   compiler can build such programs;
//! - the example linked to `librampart.a`, to show the static library links;
//! - `scripts/install.sh` into a temporary prefix, then the example built
//!   with `pkg-config --cflags --libs rampart` (and statically, with the
//!   `.pc` file's `Libs.private`).
//!
//! Every C file is compiled with `-std=c99 -Wall -Wextra -Werror -pedantic`.
//! Without a C compiler (`$CC`, else `cc`) the tests print why and pass, as
//! the valgrind and ASan runs do without valgrind or a sanitizer runtime;
//! with `RAMPART_REQUIRE_C_TOOLS=1` (CI) a missing tool fails instead.
//!
//! The libraries are the ones this cargo invocation built: cargo compiles the
//! lib target once, with all its crate types (`--crate-type rlib --crate-type
//! cdylib --crate-type staticlib`), into `target/<profile>/deps/`, next to
//! this test's executable. `cargo test` does not copy them up to
//! `target/<profile>/` (only `cargo build` does), and since cdylib and
//! staticlib names carry no hash, another cargo command on the same target
//! dir (`cargo build`, whose lib differs by dev-dependency features) writes
//! the same files. So the libraries are taken from `deps/`, else from
//! `target/<profile>/`, only if they are newer than every source of the
//! library; the programs run without cargo's LD_LIBRARY_PATH, which points
//! at `target/<profile>/` first and would win over their rpath.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

/// Warnings are errors, for every C file.
const CFLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread", "-g"];

/// What `rustc --print native-static-libs` lists for the static library on
/// Linux (x86_64-unknown-linux-gnu); the `.pc` file's `Libs.private` too.
const NATIVE_STATIC_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

/// Arguments of test_threads (reloads, batches per worker, pause in µs after
/// each batch): natively (fewer in unoptimized builds, where each compile is
/// slow), and under valgrind, which runs one thread at a time: the pause lets
/// the reloading thread in, so every worker sees most generations.
const THREADS_NATIVE: [&str; 3] = if cfg!(debug_assertions) { ["40", "10", "0"] } else { ["200", "50", "0"] };
const THREADS_VALGRIND: [&str; 3] = ["40", "4", "200"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The newest modification time among the library's sources: `src/`,
/// `rules/` (compiled in by build.rs), `build.rs`, `Cargo.toml`, `Cargo.lock`.
fn newest_source() -> SystemTime {
    fn walk(path: &Path, newest: &mut SystemTime) {
        let Ok(meta) = fs::metadata(path) else { return };
        if meta.is_dir() {
            for entry in fs::read_dir(path).into_iter().flatten().flatten() {
                walk(&entry.path(), newest);
            }
        } else if let Ok(t) = meta.modified() {
            *newest = (*newest).max(t);
        }
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    for name in ["src", "rules", "build.rs", "Cargo.toml", "Cargo.lock"] {
        walk(&root().join(name), &mut newest);
    }
    newest
}

/// The folder with this build's `librampart.so` and `librampart.a`:
/// `target/<profile>/deps/`, else `target/<profile>/`, whichever holds both,
/// newer than the sources (see the module docs).
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable has a path");
        let deps = exe.parent().expect("the test runs from target/<profile>/deps");
        let profile = deps.parent().expect("deps/ is in target/<profile>/");
        let newest = newest_source();
        let fresh = |dir: &Path| {
            ["librampart.so", "librampart.a"]
                .iter()
                .all(|lib| fs::metadata(dir.join(lib)).and_then(|m| m.modified()).is_ok_and(|t| t >= newest))
        };
        let dir = [deps, profile].into_iter().find(|d| fresh(d)).unwrap_or_else(|| {
            panic!(
                "no librampart.so and librampart.a newer than the sources in {} or {} (another cargo \
                 command on this target dir may have replaced them): run `cargo build --lib` with this \
                 test's profile, then the test again",
                deps.display(),
                profile.display()
            )
        });
        dir.to_path_buf()
    })
}

/// Is `program` runnable (`program ARG` exits 0)?
fn runs(program: &OsStr, arg: &str) -> bool {
    Command::new(program).arg(arg).output().is_ok_and(|o| o.status.success())
}

/// Notes why a test does not run; fails instead under `RAMPART_REQUIRE_C_TOOLS=1`.
fn skip(why: &str) {
    assert!(std::env::var_os("RAMPART_REQUIRE_C_TOOLS").is_none_or(|v| v != "1"), "{why} (RAMPART_REQUIRE_C_TOOLS=1)");
    eprintln!("skipped: {why}");
}

/// The C compiler (`$CC`, else `cc`), or None with a note on stderr.
fn c_compiler() -> Option<PathBuf> {
    let cc = std::env::var_os("CC").filter(|c| !c.is_empty()).unwrap_or_else(|| "cc".into());
    if runs(&cc, "--version") {
        Some(PathBuf::from(cc))
    } else {
        skip(&format!("no C compiler ({}) on PATH; install one (e.g. gcc) to test the C ABI", cc.to_string_lossy()));
        None
    }
}

/// A temporary folder under cargo's target tmp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c-api-{}-{n}-{label}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}\nexit status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a command; fails the test, with its output, unless it exits 0.
fn check(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(out.status.success(), "{}", show(&what, &out));
    out
}

/// How a C program is linked.
enum Link<'a> {
    /// To `librampart.so` in the dir, with an rpath to it.
    Shared(&'a Path),
    /// To `librampart.a` in the dir, with its native libraries.
    Static(&'a Path),
}

/// Compiles `source` (relative to the repository) into `out`.
fn compile(cc: &Path, source: &str, out: &Path, link: Link, extra: &[&str]) {
    let mut cmd = Command::new(cc);
    cmd.args(CFLAGS).args(extra).arg("-I").arg(root().join("include")).arg(root().join(source)).arg("-o").arg(out);
    match link {
        Link::Shared(dir) => {
            // The library's SONAME is librampart.so.1 (the ABI major), which
            // cargo does not create: link through a private folder that has it.
            let libs = out.parent().expect("programs are built in a folder").join("lib");
            fs::create_dir_all(&libs).expect("the build folder is writable");
            for name in ["librampart.so", "librampart.so.1"] {
                let link = libs.join(name);
                let _ = fs::remove_file(&link);
                std::os::unix::fs::symlink(dir.join("librampart.so"), &link).expect("symlinks can be made");
            }
            cmd.arg("-L").arg(&libs).arg("-lrampart").arg(format!("-Wl,-rpath,{}", libs.display()));
        }
        Link::Static(dir) => {
            cmd.arg(dir.join("librampart.a")).args(NATIVE_STATIC_LIBS);
        }
    }
    check(&mut cmd);
}

/// The C programs, built in `dir`: the test suite, the threaded test, the example.
struct Programs {
    api: PathBuf,
    threads: PathBuf,
    example: PathBuf,
}

fn build_programs(cc: &Path, dir: &TempDir, extra: &[&str]) -> Programs {
    let lib = lib_dir();
    let programs =
        Programs { api: dir.path("test_api"), threads: dir.path("test_threads"), example: dir.path("example") };
    compile(cc, "bindings/c/tests/test_api.c", &programs.api, Link::Shared(lib), extra);
    compile(cc, "bindings/c/tests/test_threads.c", &programs.threads, Link::Shared(lib), extra);
    compile(cc, "bindings/c/example.c", &programs.example, Link::Shared(lib), extra);
    programs
}

/// Runs the three programs, each through `wrapper` (e.g. valgrind) if given.
fn run_programs(programs: &Programs, dir: &TempDir, wrapper: &[&str], env: &[(&str, &str)], threads: [&str; 3]) {
    let scratch = dir.path("scratch");
    fs::create_dir_all(&scratch).expect("the scratch dir can be made");
    let runs: [(&Path, Vec<&OsStr>); 3] = [
        (&programs.api, vec![scratch.as_os_str()]),
        (&programs.threads, threads.iter().map(OsStr::new).collect()),
        (&programs.example, vec![]),
    ];
    for (program, args) in runs {
        let start = Instant::now();
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        };
        // cargo's LD_LIBRARY_PATH for tests starts with target/<profile>/, whose
        // librampart.so may be stale and would win over the rpath (DT_RUNPATH).
        cmd.args(args).env_remove("LD_LIBRARY_PATH").envs(env.iter().copied());
        let out = check(&mut cmd);
        let last = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_owned();
        eprintln!("{} {}: {last} ({:.1?})", wrapper.first().unwrap_or(&""), program.display(), start.elapsed());
    }
}

#[test]
fn c_tests_and_example_pass() {
    let Some(cc) = c_compiler() else { return };
    let dir = TempDir::new("native");
    let programs = build_programs(&cc, &dir, &[]);
    run_programs(&programs, &dir, &[], &[], THREADS_NATIVE);
}

#[test]
fn c_tests_and_example_pass_under_valgrind() {
    let Some(cc) = c_compiler() else { return };
    if !runs(OsStr::new("valgrind"), "--version") {
        skip("valgrind is not on PATH (install it to check the C ABI for leaks and memory errors)");
        return;
    }
    if cfg!(debug_assertions) && std::env::var_os("RAMPART_VALGRIND").is_none() {
        // Unoptimized Rust under valgrind takes minutes; the release build
        // (scripts/test.sh) is what this test is for.
        eprintln!("skipped: valgrind runs with `cargo test --release` (or set RAMPART_VALGRIND=1)");
        return;
    }
    let dir = TempDir::new("valgrind");
    let programs = build_programs(&cc, &dir, &[]);
    let valgrind = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite"];
    run_programs(&programs, &dir, &valgrind, &[], THREADS_VALGRIND);
}

#[test]
fn c_tests_and_example_pass_under_asan() {
    let Some(cc) = c_compiler() else { return };
    let flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"];
    let dir = TempDir::new("asan");
    // Can this compiler build and run a sanitized program here?
    let probe_c = dir.path("probe.c");
    fs::write(&probe_c, "int main(void) { return 0; }\n").expect("the probe can be written");
    let probe = dir.path("probe");
    let built = Command::new(&cc).args(flags).arg(&probe_c).arg("-o").arg(&probe).output();
    if !built.is_ok_and(|o| o.status.success()) || !Command::new(&probe).status().is_ok_and(|s| s.success()) {
        skip(&format!("{} cannot build or run programs with -fsanitize=address,undefined", cc.display()));
        return;
    }
    let programs = build_programs(&cc, &dir, &flags);
    let env = [
        ("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=98"),
        ("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"),
    ];
    run_programs(&programs, &dir, &[], &env, THREADS_NATIVE);
}

#[test]
fn example_links_against_the_static_library() {
    let Some(cc) = c_compiler() else { return };
    let dir = TempDir::new("static");
    let exe = dir.path("example-static");
    compile(&cc, "bindings/c/example.c", &exe, Link::Static(lib_dir()), &[]);
    // No rpath, no LD_LIBRARY_PATH: it runs only if rampart is inside it.
    let out = check(Command::new(&exe).env_remove("LD_LIBRARY_PATH"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict: block"));
}

/// The `rampart_*` functions `include/rampart.h` declares.
fn header_functions() -> Vec<String> {
    let header = fs::read_to_string(root().join("include/rampart.h")).expect("include/rampart.h is readable");
    let mut names: Vec<String> = header
        .lines()
        .filter(|l| !l.trim_start().starts_with('*') && !l.trim_start().starts_with("/*"))
        .flat_map(|l| {
            // Every identifier on the line that starts with rampart_ and is followed by `(`.
            l.match_indices("rampart_").filter_map(move |(at, _)| {
                let rest = &l[at..];
                let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
                rest[end..].starts_with('(').then(|| rest[..end].to_owned())
            })
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn c_tests_call_every_header_function() {
    let functions = header_functions();
    assert!(functions.len() >= 27, "found only {functions:?} in include/rampart.h");
    let mut tests = String::new();
    for entry in fs::read_dir(root().join("bindings/c/tests")).expect("bindings/c/tests exists") {
        let path = entry.expect("a readable entry").path();
        if path.extension().is_some_and(|e| e == "c") {
            tests.push_str(&fs::read_to_string(&path).expect("a readable test"));
        }
    }
    let missing: Vec<&String> = functions.iter().filter(|f| !tests.contains(&format!("{f}("))).collect();
    assert!(missing.is_empty(), "bindings/c/tests/*.c never call {missing:?}");
}

/// `pkg-config ARGS rampart` with the installed `.pc` file, split into words.
fn pkg_config(pc_dir: &Path, args: &[&str]) -> Vec<String> {
    let out = check(Command::new("pkg-config").args(args).arg("rampart").env("PKG_CONFIG_PATH", pc_dir));
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}

#[test]
fn install_script_and_pkg_config() {
    let Some(cc) = c_compiler() else { return };
    assert!(
        runs(OsStr::new("pkg-config"), "--version"),
        "pkg-config is not on PATH: install pkg-config (or pkgconf) to test scripts/install.sh"
    );
    let dir = TempDir::new("install");
    let prefix = dir.path("prefix");
    // The libraries are already built by this cargo invocation: installing
    // them must not run cargo again (it would wait for the target-dir lock).
    check(
        Command::new("bash")
            .arg(root().join("scripts/install.sh"))
            .arg("--no-build")
            .arg(&prefix)
            .env("RAMPART_LIB_DIR", lib_dir()),
    );
    for file in ["include/rampart.h", "lib/librampart.so", "lib/librampart.a", "lib/pkgconfig/rampart.pc"] {
        assert!(prefix.join(file).exists(), "scripts/install.sh did not install {file}");
    }
    let installed = fs::read(prefix.join("include/rampart.h")).expect("the installed header is readable");
    assert!(installed == fs::read(root().join("include/rampart.h")).expect("the header is readable"));

    let pc_dir = prefix.join("lib/pkgconfig");
    let version = pkg_config(&pc_dir, &["--modversion"]);
    assert_eq!(version, [env!("CARGO_PKG_VERSION")]);
    let cflags = pkg_config(&pc_dir, &["--cflags"]);
    let libs = pkg_config(&pc_dir, &["--libs"]);
    assert!(cflags.iter().any(|f| f == &format!("-I{}", prefix.join("include").display())), "{cflags:?}");
    assert!(libs.contains(&"-lrampart".to_owned()), "{libs:?}");

    // The example, as an application: cc app.c $(pkg-config --cflags --libs rampart).
    let app = dir.path("app.c");
    fs::copy(root().join("bindings/c/example.c"), &app).expect("the example can be copied");
    let exe = dir.path("app");
    check(Command::new(&cc).args(CFLAGS).arg(&app).args(&cflags).args(&libs).arg("-o").arg(&exe));
    let out = check(Command::new(&exe).env("LD_LIBRARY_PATH", prefix.join("lib")));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict: block"));

    // Statically: the archive itself, and Libs.private from `pkg-config --static`.
    let static_libs: Vec<String> =
        pkg_config(&pc_dir, &["--static", "--libs-only-l"]).into_iter().filter(|l| l != "-lrampart").collect();
    let exe = dir.path("app-static");
    check(
        Command::new(&cc)
            .args(CFLAGS)
            .arg(&app)
            .args(&cflags)
            .arg(prefix.join("lib/librampart.a"))
            .args(&static_libs)
            .arg("-o")
            .arg(&exe),
    );
    check(Command::new(&exe).env_remove("LD_LIBRARY_PATH"));
}
