//! Pure helpers: versions in `Cargo.lock` and in the `--version` output of
//! tools, and the address `cargo xtask run` prints. No I/O here, so all of it
//! is unit-tested natively.

use anyhow::{Result, bail};
use std::cmp::Ordering;

/// A dotted version as numbers: `0.22.1` is `[0, 22, 1]`, `132` is `[132]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(Vec<u64>);

impl Version {
    /// Parses `1.2.3` (also `v1.2.3`); anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.strip_prefix('v').unwrap_or(s);
        if s.is_empty() {
            return None;
        }
        s.split('.')
            .map(|part| part.parse().ok())
            .collect::<Option<Vec<u64>>>()
            .map(Version)
    }

    /// The first word of a tool's `--version` output that is a version:
    /// `trunk 0.22.1`, `wasm-bindgen 0.2.130`, `wasm-opt version 132 (version_132)`,
    /// `ChromeDriver 156.0.8078.73 (ab…)`.
    pub fn find_in(output: &str) -> Option<Self> {
        output
            .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ':'))
            .filter(|word| {
                let word = word.strip_prefix('v').unwrap_or(word);
                word.starts_with(|c: char| c.is_ascii_digit())
            })
            .find_map(Version::parse)
    }

    /// Numeric comparison in which missing parts count as zero (`1.2` == `1.2.0`).
    pub fn cmp_numeric(&self, other: &Self) -> Ordering {
        let len = self.0.len().max(other.0.len());
        (0..len)
            .map(|i| {
                let a = self.0.get(i).copied().unwrap_or(0);
                let b = other.0.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    pub fn is_exactly(&self, wanted: &Self) -> bool {
        self.cmp_numeric(wanted) == Ordering::Equal
    }

    pub fn is_at_least(&self, minimum: &Self) -> bool {
        self.cmp_numeric(minimum) != Ordering::Less
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// Every version of package `name` recorded in a `Cargo.lock` (format v3/v4:
/// `[[package]]` tables with `name = "…"` and `version = "…"` lines).
pub fn lock_versions(lock: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current_name: Option<&str> = None;
    let mut current_version: Option<&str> = None;
    let mut flush = |n: Option<&str>, v: Option<&str>| {
        if let (Some(n), Some(v)) = (n, v)
            && n == name
            && !found.iter().any(|f: &String| f == v)
        {
            found.push(v.to_owned());
        }
    };
    for line in lock.lines().map(str::trim) {
        if line.starts_with('[') {
            flush(current_name.take(), current_version.take());
        } else if let Some(value) = string_value(line, "name") {
            current_name = Some(value);
        } else if let Some(value) = string_value(line, "version") {
            current_version = Some(value);
        }
    }
    flush(current_name, current_version);
    found
}

/// `key = "value"` → `value`.
fn string_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    rest.strip_prefix('"')?.strip_suffix('"')
}

/// The one `wasm-bindgen` version in `Cargo.lock`: the CLI must match it exactly.
pub fn wasm_bindgen_version(lock: &str) -> Result<Version> {
    let versions = lock_versions(lock, "wasm-bindgen");
    match versions.as_slice() {
        [] => bail!(
            "Cargo.lock has no `wasm-bindgen` package: the frontend should depend on it \
             (pinned `=X.Y.Z` in [workspace.dependencies])"
        ),
        [one] => match Version::parse(one) {
            Some(v) => Ok(v),
            None => bail!("Cargo.lock has a wasm-bindgen version I cannot read: {one:?}"),
        },
        many => bail!(
            "Cargo.lock has several wasm-bindgen versions ({}); one wasm-bindgen-cli cannot \
             serve them all: pin one version in [workspace.dependencies]",
            many.join(", ")
        ),
    }
}

/// A version pinned under `[tools]` in a Trunk.toml (`wasm_bindgen = "0.2.130"`),
/// which trunk prefers to the lock file when it looks for a wasm-bindgen.
pub fn trunk_tool_version<'a>(trunk_toml: &'a str, tool: &str) -> Option<&'a str> {
    let mut in_tools = false;
    for line in trunk_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_tools = line == "[tools]";
        } else if in_tools && let Some(value) = string_value(line, tool) {
            return Some(value);
        }
    }
    None
}

/// The address to tell people about, from the backend's arguments and the
/// `HUBBUB_HTTP` environment variable: a wildcard or loopback host becomes
/// `localhost`, so the printed URL can be clicked.
pub fn browse_url(args: &[String], env_http: Option<&str>) -> String {
    let mut addr = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--http" {
            addr = iter.next().map(String::as_str);
        } else if let Some(value) = arg.strip_prefix("--http=") {
            addr = Some(value);
        }
    }
    let addr = addr.or(env_http).unwrap_or("0.0.0.0:8080");
    let (host, port) = match addr.rsplit_once(':') {
        Some((host, port)) => (host, port),
        None => (addr, "8080"),
    };
    let host = match host {
        "" | "0.0.0.0" | "[::]" | "127.0.0.1" | "[::1]" => "localhost",
        other => other,
    };
    format!("http://{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"
dependencies = [
 "cfg-if",
 "wasm-bindgen-macro",
]

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.131"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "shared"
version = "0.1.0"
"#;

    #[test]
    fn finds_the_wasm_bindgen_version_and_not_its_neighbours() {
        assert_eq!(lock_versions(LOCK, "wasm-bindgen"), ["0.2.130"]);
        assert_eq!(lock_versions(LOCK, "wasm-bindgen-macro"), ["0.2.131"]);
        assert_eq!(lock_versions(LOCK, "shared"), ["0.1.0"]);
        assert!(lock_versions(LOCK, "wasm").is_empty());
        assert_eq!(wasm_bindgen_version(LOCK).unwrap(), v("0.2.130"));
    }

    #[test]
    fn the_last_package_in_the_file_counts() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.99\"\n";
        assert_eq!(wasm_bindgen_version(lock).unwrap(), v("0.2.99"));
    }

    #[test]
    fn a_lock_without_wasm_bindgen_is_an_error() {
        let lock = "[[package]]\nname = \"shared\"\nversion = \"0.1.0\"\n";
        let err = wasm_bindgen_version(lock).unwrap_err().to_string();
        assert!(err.contains("no `wasm-bindgen`"), "{err}");
    }

    #[test]
    fn two_wasm_bindgen_versions_are_an_error() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.99\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.100\"\n";
        let err = wasm_bindgen_version(lock).unwrap_err().to_string();
        assert!(err.contains("0.2.99, 0.2.100"), "{err}");
    }

    #[test]
    fn reads_the_wasm_bindgen_pin_in_trunk_toml() {
        let toml = "[build]\nwasm_bindgen = \"9\"\n\n[tools]\n# pin\nwasm_bindgen = \"0.2.130\"\n\
                    wasm_opt = \"version_132\"\n[serve]\nport = 8081\n";
        assert_eq!(trunk_tool_version(toml, "wasm_bindgen"), Some("0.2.130"));
        assert_eq!(trunk_tool_version(toml, "wasm_opt"), Some("version_132"));
        assert_eq!(trunk_tool_version(toml, "sass"), None);
        assert_eq!(trunk_tool_version("[build]\n", "wasm_bindgen"), None);
    }

    #[test]
    fn reads_versions_from_tool_output() {
        let cases = [
            ("trunk 0.22.1\n", "0.22.1"),
            ("wasm-bindgen 0.2.130\n", "0.2.130"),
            ("wasm-opt version 132 (version_132)\n", "132"),
            (
                "ChromeDriver 156.0.8078.73 (0123abcd-refs/branch-heads/8078@{#1})\n",
                "156.0.8078.73",
            ),
            (
                "Chromium 156.0.8078.73 built on Debian GNU/Linux 12 (bookworm)\n",
                "156.0.8078.73",
            ),
            ("npm v11.19.1", "11.19.1"),
        ];
        for (output, expected) in cases {
            assert_eq!(Version::find_in(output), Some(v(expected)), "{output}");
        }
        assert_eq!(Version::find_in("command not found"), None);
        assert_eq!(Version::find_in(""), None);
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for s in ["", "v", "1..2", "1.2.", "1.x", "abc", "1.2-beta"] {
            assert_eq!(Version::parse(s), None, "{s}");
        }
    }

    #[test]
    fn compares_numerically_not_as_text() {
        assert!(v("0.2.130").is_at_least(&v("0.2.99")));
        assert!(!v("0.2.99").is_at_least(&v("0.2.130")));
        assert!(v("132").is_at_least(&v("132.0.0")));
        assert!(v("133").is_at_least(&v("132")));
        assert!(!v("108").is_at_least(&v("132")));
        assert!(v("0.22.1").is_exactly(&v("0.22.1")));
        assert!(v("1.2").is_exactly(&v("1.2.0")));
        assert!(!v("0.22.10").is_exactly(&v("0.22.1")));
        assert!(!v("0.21.14").is_exactly(&v("0.22.1")));
        assert_eq!(v("0.22.1").to_string(), "0.22.1");
    }

    #[test]
    fn the_printed_url_follows_the_backend_address() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(browse_url(&[], None), "http://localhost:8080");
        assert_eq!(
            browse_url(&[], Some("127.0.0.1:9000")),
            "http://localhost:9000"
        );
        assert_eq!(
            browse_url(&args(&["--http", "0.0.0.0:9001"]), Some("1.2.3.4:1")),
            "http://localhost:9001"
        );
        assert_eq!(
            browse_url(&args(&["--data-dir", "d", "--http=192.168.1.5:80"]), None),
            "http://192.168.1.5:80"
        );
        assert_eq!(
            browse_url(&args(&["--http", "[::]:8080"]), None),
            "http://localhost:8080"
        );
    }
}
