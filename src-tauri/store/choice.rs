//! Which store a console opens: `--store` (the CLI's flag), else `HANDOFF_STORE_URL`, else the
//! data dir's `store` setting, else the local store in the data dir. A value is a PostgreSQL
//! store URL ([`StoreUrl`]) or `local`; a bad one is refused naming where it came from, never
//! silently replaced by the local store (which would split the history in two).

use super::StoreError;
use super::postgres::StoreUrl;
use std::path::Path;

/// The environment variable naming the store.
pub const STORE_ENV: &str = "HANDOFF_STORE_URL";
/// The settings file's key for the store.
pub const STORE_SETTING: &str = "store";
/// The value naming the data dir's own SQLite store.
pub const LOCAL: &str = "local";

/// The store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// The SQLite store in the data dir.
    Local,
    /// A PostgreSQL store several instances share.
    Shared(StoreUrl),
}

impl StoreChoice {
    /// The store `flag` names, else the environment's, else the setting's, else the local one.
    pub fn resolve(flag: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        Self::resolve_by(flag, data_dir).map(|(choice, _)| choice)
    }

    /// [`StoreChoice::resolve`], and what chose it: `--store`, `HANDOFF_STORE_URL`, `setting`
    /// or `default`.
    pub fn resolve_by(
        flag: Option<&str>,
        data_dir: &Path,
    ) -> Result<(Self, &'static str), StoreError> {
        if let Some(value) = flag {
            return Ok((Self::parse("--store", value)?, "--store"));
        }
        match std::env::var(STORE_ENV) {
            Ok(value) if !value.trim().is_empty() => {
                return Ok((Self::parse(STORE_ENV, &value)?, STORE_ENV));
            }
            _ => {}
        }
        let field = format!(
            "{} ({STORE_SETTING})",
            data_dir.join(crate::settings::SETTINGS_FILE).display()
        );
        let choice = |reason: String| StoreError::Choice {
            field: field.clone(),
            reason,
        };
        match crate::settings::read_key(data_dir, STORE_SETTING).map_err(choice)? {
            None => Ok((Self::Local, "default")),
            Some(serde_json::Value::String(value)) => Ok((Self::parse(&field, &value)?, "setting")),
            Some(_) => Err(choice(format!(
                "must be a string: \"{LOCAL}\" or a postgres:// URL"
            ))),
        }
    }

    /// `local`, or a store URL; `field` names where the value came from in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, StoreError> {
        let value = value.trim();
        if value.eq_ignore_ascii_case(LOCAL) {
            return Ok(Self::Local);
        }
        StoreUrl::parse(value)
            .map(Self::Shared)
            .map_err(|e| StoreError::Choice {
                field: field.to_string(),
                reason: e.to_string(),
            })
    }

    /// The value as the settings file keeps it (a URL holds no password).
    pub fn setting_value(&self) -> String {
        match self {
            Self::Local => LOCAL.to_string(),
            Self::Shared(url) => url.display(),
        }
    }
}

/// Saves the `store` setting, keeping the file's other settings.
pub fn write_setting(data_dir: &Path, choice: &StoreChoice) -> Result<(), StoreError> {
    crate::settings::write_key(data_dir, STORE_SETTING, choice.setting_value().into()).map_err(
        |reason| StoreError::Choice {
            field: data_dir
                .join(crate::settings::SETTINGS_FILE)
                .display()
                .to_string(),
            reason,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_setting_then_local() {
        let dir = tempfile::tempdir().unwrap();
        // The environment is the process's: only the cases that do not depend on it run
        // here when it is set (the CLI tests cover it).
        if std::env::var_os(STORE_ENV).is_some() {
            return;
        }
        assert_eq!(
            StoreChoice::resolve(None, dir.path()).unwrap(),
            StoreChoice::Local
        );
        let shared = StoreChoice::parse("t", "postgres://c@127.0.0.1/h").unwrap();
        write_setting(dir.path(), &shared).unwrap();
        assert_eq!(StoreChoice::resolve(None, dir.path()).unwrap(), shared);
        assert_eq!(
            StoreChoice::resolve(Some("local"), dir.path()).unwrap(),
            StoreChoice::Local,
            "the flag wins over the setting"
        );
    }

    #[test]
    fn a_bad_value_names_where_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let e = StoreChoice::resolve(Some("postgres://c:pw@db/h"), dir.path()).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("--store: store URL: password"), "{text}");
        assert!(!text.contains("pw@"), "{text}");
        crate::settings::write_key(dir.path(), STORE_SETTING, serde_json::json!(5)).unwrap();
        if std::env::var_os(STORE_ENV).is_none() {
            let e = StoreChoice::resolve(None, dir.path())
                .unwrap_err()
                .to_string();
            assert!(e.contains("(store): must be a string"), "{e}");
        }
    }
}
