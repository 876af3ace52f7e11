//! The intake listener as a setting (`intakeListener` in the data dir's settings file): whether
//! the desktop window (or a `serve` started without `--intake-bind`) listens for intake, where,
//! and with which certificate. Checked by the same rule as `serve`'s flags: a non-loopback
//! address needs TLS, or `allowRemote` (a TLS proxy in front).

use crate::error::{AppError, FieldProblem};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

/// The settings file's key.
const KEY: &str = "intakeListener";
/// Where the listener goes when the setting names no address.
pub const DEFAULT_BIND: &str = "127.0.0.1:7879";

/// The intake listener's setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerSettings {
    pub enabled: bool,
    /// `ADDR:PORT` (default 127.0.0.1:7879).
    #[serde(default = "default_bind")]
    pub bind: String,
    /// The certificate chain (PEM) and its key, as files on this machine: TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub tls_key: Option<String>,
    /// Plain HTTP beyond loopback (a TLS proxy is in front).
    #[serde(default)]
    #[cfg_attr(test, ts(optional, as = "Option<bool>"))]
    pub allow_remote: bool,
}

fn default_bind() -> String {
    DEFAULT_BIND.to_string()
}

impl Default for ListenerSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            bind: default_bind(),
            tls_cert: None,
            tls_key: None,
            allow_remote: false,
        }
    }
}

impl ListenerSettings {
    /// The address, and every problem of the setting (each naming its field).
    pub fn check(&self) -> Result<SocketAddr, AppError> {
        let mut problems = Vec::new();
        let mut add = |field: &str, reason: String| {
            problems.push(FieldProblem {
                field: field.into(),
                reason,
            })
        };
        let addr = self.bind.trim().parse::<SocketAddr>();
        if addr.is_err() {
            add(
                "bind",
                format!("'{}' is not ADDR:PORT (e.g. {DEFAULT_BIND})", self.bind),
            );
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) if !c.trim().is_empty() && !k.trim().is_empty() => true,
            (None, None) => false,
            _ => {
                add(
                    "tlsCert",
                    "the certificate and its key go together: give both or neither".into(),
                );
                false
            }
        };
        if let Ok(a) = addr
            && !a.ip().is_loopback()
            && !tls
            && !self.allow_remote
        {
            add(
                "bind",
                format!(
                    "{} is not a loopback address and the listener would speak plain HTTP: give \
                     a certificate and key (TLS), or allow remote plain HTTP when a TLS proxy is \
                     in front",
                    a.ip()
                ),
            );
        }
        match (addr, problems.is_empty()) {
            (Ok(a), true) => Ok(a),
            _ => Err(AppError::invalid_many(problems)),
        }
    }

    /// The saved setting (the default, off, when there is none).
    pub fn load(data_dir: &Path) -> Result<Self, AppError> {
        let field = crate::settings::SETTINGS_FILE;
        match crate::settings::read_key(data_dir, KEY)
            .map_err(|reason| AppError::invalid(format!("{field} ({KEY})"), reason))?
        {
            None => Ok(Self::default()),
            Some(v) => serde_json::from_value(v)
                .map_err(|e| AppError::invalid(format!("{field} ({KEY})"), e.to_string())),
        }
    }

    /// Saves the setting (after [`ListenerSettings::check`]).
    pub fn save(&self, data_dir: &Path) -> Result<(), AppError> {
        let value = serde_json::to_value(self).map_err(AppError::internal)?;
        crate::settings::write_key(data_dir, KEY, value).map_err(|reason| {
            AppError::new(
                crate::ErrorKind::Unavailable,
                format!("the setting could not be saved: {reason}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_loopback_the_listener_needs_tls_or_a_proxy() {
        let on = |bind: &str| ListenerSettings {
            enabled: true,
            bind: bind.into(),
            ..Default::default()
        };
        assert!(on("127.0.0.1:7879").check().is_ok());
        assert!(on("0.0.0.0:7879").check().is_err());
        assert!(on("nonsense").check().is_err());
        let tls = ListenerSettings {
            tls_cert: Some("c.pem".into()),
            tls_key: Some("k.pem".into()),
            ..on("0.0.0.0:8443")
        };
        assert!(tls.check().is_ok());
        let proxied = ListenerSettings {
            allow_remote: true,
            ..on("0.0.0.0:8080")
        };
        assert!(proxied.check().is_ok());
        let half = ListenerSettings {
            tls_cert: Some("c.pem".into()),
            ..on("127.0.0.1:1")
        };
        assert_eq!(half.check().unwrap_err().details[0].field, "tlsCert");
    }

    #[test]
    fn the_setting_is_saved_beside_the_others_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        crate::settings::write_key(dir.path(), "secrets", "vault".into()).unwrap();
        assert_eq!(
            ListenerSettings::load(dir.path()).unwrap(),
            ListenerSettings::default()
        );
        let s = ListenerSettings {
            enabled: true,
            ..Default::default()
        };
        s.save(dir.path()).unwrap();
        assert_eq!(ListenerSettings::load(dir.path()).unwrap(), s);
        assert_eq!(
            crate::settings::read_key(dir.path(), "secrets").unwrap(),
            Some("vault".into())
        );
    }
}
