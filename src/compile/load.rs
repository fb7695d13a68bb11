//! Reading rule files: the file system (real, or the embedded default rule
//! set), path resolution relative to the including file, and `*` patterns.

use std::io;
use std::path::{Component, Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));
}

/// Where rule, data and config files are read from.
pub(crate) trait Fs: Send + Sync {
    /// Reads a whole file as UTF-8.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// The entries of a folder (files and folders), sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// True for a folder.
    fn is_dir(&self, path: &Path) -> bool;
    /// True when a file or folder exists.
    fn exists(&self, path: &Path) -> bool;
}

/// The real file system.
pub(crate) struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| if dir == Path::new(".") { PathBuf::from(e.file_name()) } else { e.path() })
            .collect();
        out.sort();
        Ok(out)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// The default rule set compiled into the library; paths start with `rules/`.
pub(crate) struct EmbeddedFs;

impl EmbeddedFs {
    /// The path of the default engine config.
    pub(crate) const CONFIG: &'static str = "rules/rampart.toml";
}

impl Fs for EmbeddedFs {
    fn exists(&self, path: &Path) -> bool {
        let want = normalize(path);
        self.is_dir(path) || embedded::DEFAULT_FILES.iter().any(|(name, _)| Path::new(name) == want)
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        let want = normalize(path);
        embedded::DEFAULT_FILES
            .iter()
            .find(|(name, _)| Path::new(name) == want)
            .map(|(_, text)| (*text).to_owned())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in the built-in rule set"))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let dir = normalize(dir);
        let mut out: Vec<PathBuf> = Vec::new();
        for (name, _) in embedded::DEFAULT_FILES {
            let Ok(rest) = Path::new(name).strip_prefix(&dir) else {
                continue;
            };
            if let Some(first) = rest.components().next() {
                let entry = dir.join(first);
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn is_dir(&self, path: &Path) -> bool {
        let path = normalize(path);
        embedded::DEFAULT_FILES
            .iter()
            .any(|(name, _)| Path::new(name).strip_prefix(&path).is_ok_and(|r| !r.as_os_str().is_empty()))
    }
}

/// Removes `.` and resolves `..` lexically (without touching the file system).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The entries of a phrase data file: one per line, trimmed; blank lines and
/// `#` comments skipped (the rule language's and SecLang's `.data` files).
pub(crate) fn data_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

/// The message for a data file that cannot be read.
pub(crate) fn data_file_error(path: &Path, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("data file not found: `{}`", path.display()),
        _ => format!("cannot read data file `{}`: {e}", path.display()),
    }
}

/// `relative` resolved against the folder `base` (absolute paths stay).
pub(crate) fn resolve(base: &Path, relative: &str) -> PathBuf {
    normalize(&base.join(relative))
}

/// Matches a name against a pattern with `*` (any run) and `?` (one character).
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The files a pattern names, relative to `base`, sorted. A pattern without
/// wildcards names one file (which may not exist: the caller reads it).
pub(crate) fn expand(fs: &dyn Fs, base: &Path, pattern: &str) -> io::Result<Vec<PathBuf>> {
    if !pattern.contains(['*', '?']) {
        return Ok(vec![resolve(base, pattern)]);
    }
    let full = resolve(base, pattern);
    let mut current = vec![PathBuf::new()];
    let parts: Vec<Component> = full.components().collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let text = part.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for dir in &current {
            if text.contains(['*', '?']) {
                for entry in fs.list(dir)? {
                    let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    if wildcard(&text, &name) && (last || fs.is_dir(&entry)) && !(last && fs.is_dir(&entry)) {
                        next.push(entry);
                    }
                }
            } else {
                // After a wildcard folder, a literal name only counts where it exists.
                let path = dir.join(part);
                if fs.exists(&path) {
                    next.push(path);
                }
            }
        }
        current = next;
    }
    current.sort();
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.rules", "942-sqli.rules"));
        assert!(wildcard("9??-*.rules", "942-sqli.rules"));
        assert!(!wildcard("*.rules", "x.data"));
        assert!(wildcard("*", ""));
    }

    #[test]
    fn paths_resolve_lexically() {
        assert_eq!(resolve(Path::new("rules/core"), "../x.data"), PathBuf::from("rules/x.data"));
        assert_eq!(resolve(Path::new("rules"), "./core/a.rules"), PathBuf::from("rules/core/a.rules"));
    }

    #[test]
    fn the_embedded_rule_set_has_a_config_and_rules() {
        let fs = EmbeddedFs;
        assert!(fs.read(Path::new(EmbeddedFs::CONFIG)).is_ok());
        let rules = expand(&fs, Path::new("rules"), "core/*.rules").unwrap();
        assert!(!rules.is_empty());
    }
}
