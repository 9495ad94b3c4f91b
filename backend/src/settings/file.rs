//! The configuration file: TOML, walked key by key against [`KEYS`] so that
//! every mistake is reported with the key's full dotted name and its line.

use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Source;
use super::keys::KEYS;
use crate::config::Config;

/// Applies the file's settings to `config`, noting each one's line in
/// `sources`. `name` is the file as the operator named it, for messages.
pub fn apply(
    text: &str,
    name: &Arc<str>,
    config: &mut Config,
    sources: &mut [Source],
) -> Result<(), String> {
    let document = DeTable::parse(text).map_err(|error| {
        let line = error.span().map_or(1, |span| line_of(text, span.start));
        let message = error
            .message()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        format!("{name}:{line}: not valid TOML: {message}")
    })?;
    let mut walk = Walk {
        text,
        name,
        config,
        sources,
    };
    walk.table(document.get_ref(), "")
}

struct Walk<'a> {
    text: &'a str,
    name: &'a Arc<str>,
    config: &'a mut Config,
    sources: &'a mut [Source],
}

impl Walk<'_> {
    fn table(&mut self, table: &DeTable<'_>, prefix: &str) -> Result<(), String> {
        // In file order, so that the first mistake reported is the first one
        // in the file.
        let mut entries: Vec<(&Spanned<_>, &Spanned<DeValue<'_>>)> = table.iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        for (key, value) in entries {
            let path = format!("{prefix}{}", key.get_ref());
            let line = self.line(key.span().start);
            if let Some(index) = KEYS.iter().position(|k| k.path == path) {
                let line = self.line(value.span().start).max(line);
                KEYS[index]
                    .slot
                    .set_from_toml(self.config, value.get_ref())
                    .map_err(|problem| format!("{}:{line}: {path}: {problem}", self.name))?;
                self.sources[index] = Source::File {
                    name: Arc::clone(self.name),
                    line,
                };
            } else if prefix.is_empty() && KEYS.iter().any(|k| k.section() == Some(&path)) {
                let DeValue::Table(section) = value.get_ref() else {
                    return Err(format!(
                        "{}:{line}: {path} must be a table (a [{path}] section)",
                        self.name
                    ));
                };
                self.table(section, &format!("{path}."))?;
            } else {
                return Err(format!(
                    "{}:{line}: unknown key {path:?}{}",
                    self.name,
                    suggestion(&path)
                ));
            }
        }
        Ok(())
    }

    fn line(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// "(did you mean …?)" for a key close to a known one: a typo, or a key put
/// in the wrong section.
fn suggestion(path: &str) -> String {
    let name = path.rsplit('.').next().unwrap_or(path);
    let best = KEYS
        .iter()
        .map(|key| {
            let distance =
                edit_distance(path, key.path).min(if key.name() == name { 1 } else { usize::MAX });
            (distance, key.path)
        })
        .min();
    match best {
        Some((distance, known)) if distance <= 3 && distance * 2 < known.len().max(path.len()) => {
            format!(" (did you mean {known:?}?)")
        }
        _ => String::new(),
    }
}

/// Levenshtein distance, for suggestions; keys are short.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn load(text: &str) -> Result<(Config, Vec<Source>), String> {
        let mut config = Config::default();
        let mut sources = vec![Source::Default; KEYS.len()];
        apply(text, &Arc::from("hubbub.toml"), &mut config, &mut sources)?;
        Ok((config, sources))
    }

    fn error(text: &str) -> String {
        load(text).unwrap_err()
    }

    #[test]
    fn sets_keys_and_remembers_their_lines() {
        let (config, sources) = load(
            "http = \"127.0.0.1:9000\"\n\
             \n\
             [websocket]\n\
             ping_interval_secs = 20\n\
             allowed_origins = [\"https://a.example\"]\n\
             messages_per_second = 2\n\
             [limits]\n\
             max_connections = 1_000\n",
        )
        .unwrap();
        assert_eq!(config.http, "127.0.0.1:9000");
        assert_eq!(config.heartbeat.ping_every, Duration::from_secs(20));
        assert_eq!(config.guard.allowed_origins, ["https://a.example"]);
        assert!((config.guard.messages_per_second - 2.0).abs() < f64::EPSILON);
        assert_eq!(config.guard.max_connections, 1000);
        let at = |path| {
            let index = KEYS.iter().position(|k| k.path == path).unwrap();
            sources[index].to_string()
        };
        assert_eq!(at("http"), "hubbub.toml:1");
        assert_eq!(at("websocket.ping_interval_secs"), "hubbub.toml:4");
        assert_eq!(at("limits.max_connections"), "hubbub.toml:8");
        assert_eq!(at("log"), "default");
    }

    #[test]
    fn dotted_keys_and_inline_tables_work_too() {
        let (config, _) =
            load("websocket.message_burst = 7\nlimits = { max_connections_per_ip = 3 }\n").unwrap();
        assert_eq!(config.guard.message_burst, 7);
        assert_eq!(config.guard.max_connections_per_ip, 3);
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        assert_eq!(
            error("[websocket]\nping_interval_secs = 20\npingg = 3\n"),
            "hubbub.toml:3: unknown key \"websocket.pingg\""
        );
        assert_eq!(
            error("[websocket]\nping_intervl_secs = 20\n"),
            "hubbub.toml:2: unknown key \"websocket.ping_intervl_secs\" (did you mean \"websocket.ping_interval_secs\"?)"
        );
        assert_eq!(
            error("max_connections = 5\n"),
            "hubbub.toml:1: unknown key \"max_connections\" (did you mean \"limits.max_connections\"?)"
        );
        assert_eq!(
            error("[nonsense]\nx = 1\n"),
            "hubbub.toml:1: unknown key \"nonsense\""
        );
        assert_eq!(
            error("websocket = 5\n"),
            "hubbub.toml:1: websocket must be a table (a [websocket] section)"
        );
        // The first mistake in the file is the one reported.
        assert_eq!(
            error("zzz = 1\naaa = 2\n"),
            "hubbub.toml:1: unknown key \"zzz\""
        );
    }

    #[test]
    fn wrong_types_and_invalid_values_name_the_key() {
        assert_eq!(
            error("[websocket]\nmessage_burst = \"lots\"\n"),
            "hubbub.toml:2: websocket.message_burst: expected a whole number, got the string \"lots\""
        );
        assert_eq!(
            error("shutdown_grace_secs = 1.5\n"),
            "hubbub.toml:1: shutdown_grace_secs: expected a whole number of seconds, got the number 1.5"
        );
        assert_eq!(
            error("http = 8080\n"),
            "hubbub.toml:1: http: expected a string, got the whole number 8080"
        );
        assert_eq!(
            error("[websocket]\nallowed_origins = \"https://a.example\"\n"),
            "hubbub.toml:2: websocket.allowed_origins: expected an array of strings, got the string \"https://a.example\""
        );
        assert_eq!(
            error("[websocket]\nallowed_origins = [\"\"]\n"),
            "hubbub.toml:2: websocket.allowed_origins: an origin must not be empty"
        );
        assert_eq!(
            error("[websocket]\nallowed_origins = [1]\n"),
            "hubbub.toml:2: websocket.allowed_origins: expected an array of strings, found the whole number 1 in it"
        );
        assert_eq!(
            error("[websocket]\nmessages_per_second = -1\n"),
            "hubbub.toml:2: websocket.messages_per_second: must be a number above 0 (and at most 1e9), got -1"
        );
        assert_eq!(
            error("[limits]\nmax_connections = 0\n"),
            "hubbub.toml:2: limits.max_connections: must be at least 1, got 0"
        );
        assert_eq!(
            error("[limits]\nmax_connections = -4\n"),
            "hubbub.toml:2: limits.max_connections: must be at least 1, got -4"
        );
        assert_eq!(
            error("[limits]\nmax_connections = 0x1_0000_0000\n"),
            "hubbub.toml:2: limits.max_connections: must be at most 4294967295, got 0x100000000"
        );
        assert_eq!(
            error("data_dir = \"\"\n"),
            "hubbub.toml:1: data_dir: must not be empty"
        );
    }

    #[test]
    fn broken_toml_is_one_line_with_its_line() {
        let message = error("http = \"127.0.0.1:80\"\n[websocket\n");
        assert!(
            message.starts_with("hubbub.toml:2: not valid TOML: "),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
        let message = error("log = \"info\"\nlog = \"debug\"\n");
        assert!(
            message.starts_with("hubbub.toml:2: not valid TOML: "),
            "{message}"
        );
    }

    #[test]
    fn suggestions_need_a_close_match() {
        assert!(suggestion("completely_unrelated").is_empty());
        assert!(suggestion("zzz").is_empty());
        assert_eq!(suggestion("htp"), " (did you mean \"http\"?)");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
