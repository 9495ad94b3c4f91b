//! Where the [`Config`] comes from: defaults, then one TOML file (`--config
//! FILE`, `HUBBUB_CONFIG`, or `hubbub.toml` in the working directory if there
//! is one), then `HUBBUB_*` environment variables, then flags; each later
//! layer wins. Every setting has all three forms, named mechanically from
//! its dotted key (`websocket.ping_interval_secs`,
//! `HUBBUB_WEBSOCKET_PING_INTERVAL_SECS`, `--websocket-ping-interval-secs`);
//! the table is `keys::KEYS`.
//!
//! Every mistake is an [`Error`] of one line that names the key and where it
//! was written; `main` prints it and exits with code 2. The settings also
//! remember where each value came from, for `--print-config`.

pub mod address;
mod file;
pub mod keys;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::config::Config;
use keys::KEYS;

/// The file read when neither `--config` nor `HUBBUB_CONFIG` names one.
pub const DEFAULT_FILE: &str = "hubbub.toml";
const CONFIG_ENV: &str = "HUBBUB_CONFIG";

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    /// The configuration file (as the operator named it) and the line.
    File {
        name: Arc<str>,
        line: usize,
    },
    /// An environment variable.
    Env(&'static str),
    /// A flag, without its dashes.
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { name, line } => write!(f, "{name}:{line}"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Flag(name) => write!(f, "flag --{name}"),
        }
    }
}

/// Why the settings could not be loaded.
#[derive(Debug)]
pub enum Error {
    /// A mistake in a setting: one line, without the `error: ` prefix.
    Invalid(String),
    /// The command line itself (an unknown flag, a missing value), or
    /// `--help`/`--version`: clap formats and prints it.
    Cli(clap::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(message) => f.write_str(message),
            Error::Cli(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Error {}

/// The effective configuration and where each value came from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// One per entry of `KEYS`, in the same order.
    sources: Vec<Source>,
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// `--print-config` was given.
    pub print_config: bool,
    /// Things worth telling the operator that are not errors (an unknown
    /// `HUBBUB_*` variable).
    pub warnings: Vec<String>,
}

impl Settings {
    /// Where the value of the key at `path` came from.
    pub fn source(&self, path: &str) -> Source {
        KEYS.iter()
            .position(|key| key.path == path)
            .and_then(|index| self.sources.get(index).cloned())
            .unwrap_or(Source::Default)
    }

    /// The effective configuration as TOML, each value followed by a comment
    /// saying where it came from. Reading it back as a configuration file
    /// gives the same configuration.
    pub fn render(&self) -> String {
        let mut config = self.config.clone();
        let mut lines: Vec<(String, String)> = Vec::new();
        let mut section = None;
        for (key, source) in KEYS.iter().zip(&self.sources) {
            if key.section() != section {
                section = key.section();
                if let Some(name) = section {
                    lines.push((String::new(), String::new()));
                    lines.push((format!("[{name}]"), String::new()));
                }
            }
            let value = key.slot.render(&mut config);
            lines.push((format!("{} = {value}", key.name()), source.to_string()));
        }
        let width = lines
            .iter()
            .filter(|(_, source)| !source.is_empty())
            .map(|(line, _)| line.chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        let file = match &self.file {
            Some(path) => format!("{}", path.display()),
            None => format!("none (no --config, no {CONFIG_ENV}, no ./{DEFAULT_FILE})"),
        };
        let mut out = format!(
            "# Hubbub's effective configuration; after each value, where it came from.\n\
             # Configuration file: {file}\n"
        );
        for (line, source) in lines {
            if source.is_empty() {
                out.push_str(&line);
            } else {
                out.push_str(&format!("{line:width$}  # {source}"));
            }
            out.push('\n');
        }
        out
    }
}

/// The command line: `--config`, `--print-config`, and one flag per key.
pub fn command() -> Command {
    let mut command = Command::new("backend")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Hubbub: a self-hosted real-time chat hub")
        .after_help(
            "Each setting is also a key in the configuration file and a HUBBUB_* environment \
             variable; flags win over the environment, the environment over the file, the file \
             over defaults. See hubbub.example.toml, or run with --print-config.",
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help(format!(
                    "Configuration file (TOML) [env: {CONFIG_ENV}] [default: ./{DEFAULT_FILE} if there is one]"
                )),
        )
        .arg(
            Arg::new("print-config")
                .long("print-config")
                .action(ArgAction::SetTrue)
                .help("Print the effective configuration and where each value came from, then exit"),
        );
    let mut config = Config::default();
    for key in KEYS {
        let default = key.slot.render(&mut config);
        command = command.arg(
            Arg::new(key.path)
                .long(key.flag)
                .value_name(key.value_name())
                .value_parser(clap::value_parser!(OsString))
                .help(format!(
                    "{} [env: {}] [file: {}] [default: {default}]",
                    key.help, key.env, key.path
                )),
        );
    }
    command
}

/// Loads the settings from the command line `args` (the program's name
/// first) and the environment `vars`. A relative configuration file is
/// found from the working directory.
pub fn load(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Settings, Error> {
    let matches = command().try_get_matches_from(args).map_err(Error::Cli)?;
    let env: BTreeMap<String, OsString> = vars
        .into_iter()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .filter(|(name, _)| name.starts_with("HUBBUB_"))
        .collect();

    let mut settings = Settings {
        config: Config::default(),
        sources: vec![Source::Default; KEYS.len()],
        file: None,
        print_config: matches.get_flag("print-config"),
        warnings: Vec::new(),
    };

    // The file.
    if let Some((path, text)) = read_file(&matches, &env)? {
        let name: Arc<str> = Arc::from(path.display().to_string());
        file::apply(&text, &name, &mut settings.config, &mut settings.sources)
            .map_err(Error::Invalid)?;
        settings.file = Some(path);
    }

    // The environment.
    for (index, key) in KEYS.iter().enumerate() {
        if let Some(value) = env.get(key.env) {
            key.slot
                .set_from_text(&mut settings.config, value)
                .map_err(|problem| Error::Invalid(format!("env {}: {problem}", key.env)))?;
            settings.sources[index] = Source::Env(key.env);
        }
    }
    for name in env.keys() {
        if name != CONFIG_ENV && !KEYS.iter().any(|key| key.env == name) {
            settings
                .warnings
                .push(format!("unknown environment variable {name} (ignored)"));
        }
    }

    // The flags.
    for (index, key) in KEYS.iter().enumerate() {
        if let Some(value) = flag(&matches, key.path) {
            key.slot
                .set_from_text(&mut settings.config, value)
                .map_err(|problem| Error::Invalid(format!("flag --{}: {problem}", key.flag)))?;
            settings.sources[index] = Source::Flag(key.flag);
        }
    }

    check(&settings).map_err(Error::Invalid)?;
    Ok(settings)
}

/// The settings a configuration file's text gives over the defaults, with no
/// environment or flags, checked as [`load`] checks them. The fuzz targets
/// read arbitrary files with it and read back what [`Settings::render`]
/// writes.
#[doc(hidden)]
pub fn from_file_text(name: &str, text: &str) -> Result<Settings, String> {
    let mut settings = Settings {
        config: Config::default(),
        sources: vec![Source::Default; KEYS.len()],
        file: Some(PathBuf::from(name)),
        print_config: false,
        warnings: Vec::new(),
    };
    let name: Arc<str> = Arc::from(name);
    file::apply(text, &name, &mut settings.config, &mut settings.sources)?;
    check(&settings)?;
    Ok(settings)
}

fn flag<'a>(matches: &'a ArgMatches, id: &str) -> Option<&'a OsStr> {
    matches
        .try_get_one::<OsString>(id)
        .ok()
        .flatten()
        .map(OsString::as_os_str)
}

/// The configuration file to read and its text: the one named by `--config`
/// or `HUBBUB_CONFIG` (which must exist), else `hubbub.toml` if present.
fn read_file(
    matches: &ArgMatches,
    env: &BTreeMap<String, OsString>,
) -> Result<Option<(PathBuf, String)>, Error> {
    let named = match (
        matches.try_get_one::<PathBuf>("config").ok().flatten(),
        env.get(CONFIG_ENV),
    ) {
        (Some(path), _) => Some((path.clone(), "flag --config".to_owned())),
        (None, Some(path)) => Some((PathBuf::from(path), format!("env {CONFIG_ENV}"))),
        (None, None) => None,
    };
    let (path, required_by) = match named {
        Some((path, by)) => (path, Some(by)),
        None => (PathBuf::from(DEFAULT_FILE), None),
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound && required_by.is_none() => {
            return Ok(None);
        }
        Err(error) => {
            let by = required_by.map(|by| format!("{by}: ")).unwrap_or_default();
            return Err(Error::Invalid(format!(
                "{by}cannot read the configuration file {}: {}",
                path.display(),
                io_problem(&error)
            )));
        }
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Invalid(format!("{}: not valid UTF-8", path.display())))?;
    Ok(Some((path, text)))
}

/// An I/O error without Rust's "(os error 2)" suffix.
fn io_problem(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => error.to_string(),
    }
}

/// Checks that need the whole configuration, or more than a value's type.
fn check(settings: &Settings) -> Result<(), String> {
    let config = &settings.config;
    let at = |path: &str| format!("{path} ({})", settings.source(path));

    for (door, path, address) in [
        ("HTTP", "http", &config.http),
        ("terminal", "tcp", &config.tcp),
        ("IRC", "irc", &config.irc),
    ] {
        if path == "irc" && address == "off" {
            continue;
        }
        if let Err(problem) = address::ListenAddress::parse(address) {
            return Err(address::DoorError {
                door,
                address: address.clone(),
                source: settings.source(path),
                problem,
            }
            .to_string());
        }
    }
    if let Err(error) = tracing_subscriber::EnvFilter::try_new(&config.log) {
        let problem = error.to_string().replace('\n', " ");
        return Err(format!(
            "{}: {:?} is not a log filter: {problem}",
            at("log"),
            config.log
        ));
    }
    let heartbeat = &config.heartbeat;
    if heartbeat.idle_after <= heartbeat.ping_every {
        return Err(format!(
            "{} = {} must be longer than {} = {}: a client gets a ping \
             to answer before it can be thought idle",
            at("websocket.idle_timeout_secs"),
            heartbeat.idle_after.as_secs(),
            at("websocket.ping_interval_secs"),
            heartbeat.ping_every.as_secs(),
        ));
    }
    Ok(())
}

/// The value's source per key, for tests.
#[cfg(test)]
fn sources(settings: &Settings) -> Vec<(&'static str, String)> {
    KEYS.iter()
        .zip(&settings.sources)
        .map(|(key, source)| (key.path, source.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;

    fn load_with(args: &[&str], env: &[(&str, &str)]) -> Result<Settings, Error> {
        let args = std::iter::once("backend").chain(args.iter().copied());
        let env = env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        load(args, env)
    }

    fn invalid(args: &[&str], env: &[(&str, &str)]) -> String {
        match load_with(args, env) {
            Err(Error::Invalid(message)) => message,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    fn source_of(settings: &Settings, path: &str) -> String {
        sources(settings)
            .into_iter()
            .find(|(p, _)| *p == path)
            .unwrap()
            .1
    }

    #[test]
    fn a_named_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("hubbub.toml");
        let message = invalid(&["--config", missing.to_str().unwrap()], &[]);
        assert_eq!(
            message,
            format!(
                "flag --config: cannot read the configuration file {}: no such file",
                missing.display()
            )
        );
        let message = invalid(&[], &[("HUBBUB_CONFIG", missing.to_str().unwrap())]);
        assert!(
            message.starts_with("env HUBBUB_CONFIG: cannot read"),
            "{message}"
        );
    }

    #[test]
    fn flags_win_over_env_over_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custom.toml");
        std::fs::write(
            &path,
            "log = \"debug\"\n\
             [websocket]\n\
             ping_interval_secs = 11\n\
             message_burst = 3\n\
             messages_per_second = 1.5\n",
        )
        .unwrap();
        let settings = load_with(
            &[
                "--config",
                path.to_str().unwrap(),
                "--websocket-ping-interval-secs",
                "13",
                "--http",
                "127.0.0.1:0",
            ],
            &[
                ("HUBBUB_WEBSOCKET_PING_INTERVAL_SECS", "12"),
                ("HUBBUB_WEBSOCKET_MESSAGE_BURST", "4"),
                ("HUBBUB_HTTP", "127.0.0.1:1"),
            ],
        )
        .unwrap();
        let config = &settings.config;
        assert_eq!(config.heartbeat.ping_every, Duration::from_secs(13));
        assert_eq!(config.guard.message_burst, 4);
        assert!((config.guard.messages_per_second - 1.5).abs() < f64::EPSILON);
        assert_eq!(config.log, "debug");
        assert_eq!(config.http, "127.0.0.1:0");
        assert_eq!(config.heartbeat.idle_after, Duration::from_secs(60));

        let file = path.display().to_string();
        assert_eq!(
            source_of(&settings, "websocket.ping_interval_secs"),
            "flag --websocket-ping-interval-secs"
        );
        assert_eq!(
            source_of(&settings, "websocket.message_burst"),
            "env HUBBUB_WEBSOCKET_MESSAGE_BURST"
        );
        assert_eq!(
            source_of(&settings, "websocket.messages_per_second"),
            format!("{file}:5")
        );
        assert_eq!(source_of(&settings, "log"), format!("{file}:1"));
        assert_eq!(source_of(&settings, "http"), "flag --http");
        assert_eq!(
            source_of(&settings, "websocket.idle_timeout_secs"),
            "default"
        );
        assert_eq!(settings.file.as_deref(), Some(path.as_path()));
    }

    #[test]
    fn bad_env_and_flag_values_name_the_variable_or_flag() {
        assert_eq!(
            invalid(&[], &[("HUBBUB_WEBSOCKET_MESSAGE_BURST", "lots")]),
            "env HUBBUB_WEBSOCKET_MESSAGE_BURST: expected a whole number, got \"lots\""
        );
        assert_eq!(
            invalid(&["--limits-max-connections", "0"], &[]),
            "flag --limits-max-connections: must be at least 1, got 0"
        );
        assert_eq!(
            invalid(&["--http", "127.0.0.1:99999"], &[]),
            "HTTP door: \"127.0.0.1:99999\" (flag --http): port 99999 is out of range (0-65535)"
        );
        assert_eq!(
            invalid(&[], &[("HUBBUB_HTTP", "8080")]),
            "HTTP door: \"8080\" (env HUBBUB_HTTP): missing port (write host:port, [v6]:port or :port)"
        );
    }

    #[test]
    fn the_whole_configuration_is_checked() {
        assert_eq!(
            invalid(&["--websocket-idle-timeout-secs", "20"], &[]),
            "websocket.idle_timeout_secs (flag --websocket-idle-timeout-secs) = 20 must be \
             longer than websocket.ping_interval_secs (default) = 30: a client gets a ping to \
             answer before it can be thought idle"
        );
        let message = invalid(&["--log", "info,[[["], &[]);
        assert!(
            message.starts_with("log (flag --log): \"info,[[[\" is not a log filter: "),
            "{message}"
        );
    }

    #[test]
    fn unknown_hubbub_variables_are_warned_about() {
        let settings = load_with(&[], &[("HUBBUB_WEBSOCKET_PINGG", "3"), ("OTHER", "x")]).unwrap();
        assert_eq!(
            settings.warnings,
            ["unknown environment variable HUBBUB_WEBSOCKET_PINGG (ignored)"]
        );
    }

    #[test]
    fn command_line_mistakes_are_clap_errors() {
        assert!(matches!(
            load_with(&["--no-such-flag"], &[]),
            Err(Error::Cli(error)) if error.use_stderr()
        ));
        assert!(matches!(
            load_with(&["--help"], &[]),
            Err(Error::Cli(error)) if !error.use_stderr()
        ));
        command().debug_assert();
    }

    /// `--print-config` is a configuration file: read back, it gives the
    /// same configuration, with every key set.
    #[test]
    fn printed_configuration_reads_back_the_same() {
        let settings = load_with(
            &[
                "--websocket-allowed-origins",
                "https://a.example,http://b.example:8081",
                "--websocket-messages-per-second",
                "0.25",
                "--data-dir",
                "/tmp/some \"quoted\" dir",
                "--print-config",
            ],
            &[],
        )
        .unwrap();
        assert!(settings.print_config);
        let printed = settings.render();
        let mut config = Config::default();
        let mut sources = vec![Source::Default; KEYS.len()];
        file::apply(&printed, &Arc::from("printed"), &mut config, &mut sources).unwrap();
        assert_eq!(config, settings.config);
        assert!(
            sources.iter().all(|s| matches!(s, Source::File { .. })),
            "every key is printed:\n{printed}"
        );
        assert!(printed.contains("messages_per_second = 0.25"), "{printed}");
        assert!(
            printed.contains("# flag --websocket-allowed-origins"),
            "{printed}"
        );
        assert!(printed.contains("# default"), "{printed}");
    }

    /// The example file documents every key, and its values are the
    /// defaults (`web_dir`, whose default depends on the build, is there as
    /// a comment).
    #[test]
    fn example_file_is_the_defaults_and_has_every_key() {
        let text = include_str!("../../../hubbub.example.toml");
        let mut config = Config {
            web_dir: PathBuf::from("/not/the/default"),
            ..Config::default()
        };
        let mut sources = vec![Source::Default; KEYS.len()];
        file::apply(
            text,
            &Arc::from("hubbub.example.toml"),
            &mut config,
            &mut sources,
        )
        .unwrap();
        config.web_dir = Config::default().web_dir;
        assert_eq!(config, Config::default());
        for (key, source) in KEYS.iter().zip(&sources) {
            if key.path == "web_dir" {
                assert!(
                    text.contains("\n# web_dir = "),
                    "web_dir is shown commented out"
                );
            } else {
                assert!(
                    matches!(source, Source::File { .. }),
                    "{} is missing from hubbub.example.toml",
                    key.path
                );
            }
        }
        // Each key has a comment: a reason, and its default.
        for line in text
            .lines()
            .filter(|l| l.contains(" = ") && !l.starts_with('#'))
        {
            let name = line.split(" = ").next().unwrap_or_default();
            let before = text.split(line).next().unwrap_or_default();
            assert!(
                before
                    .trim_end()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .starts_with('#'),
                "{name} has no comment above it"
            );
        }
    }

    #[test]
    fn settings_sources_default_to_default() {
        let settings = load_with(&[], &[]).unwrap();
        assert_eq!(settings.source("no.such.key"), Source::Default);
        assert_eq!(settings.source("http"), Source::Default);
        assert!(!settings.print_config);
    }

    #[test]
    fn path_settings_accept_anything_but_empty() {
        let dir = Path::new("/var/lib/hubbub");
        let settings = load_with(&["--data-dir", "/var/lib/hubbub"], &[]).unwrap();
        assert_eq!(settings.config.data_dir, dir);
    }
}
