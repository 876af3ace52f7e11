//! What the audit trail says about a config: the redacted list of changed paths between two
//! stored configs, a target's summary, and the redaction both use.
//!
//! Stored configs already hold the mask in place of credentials; on top of that a value is
//! never shown when its key looks secret (a header such as `X-Api-Token`, any `password`,
//! `key`, `secret`, ...), when it is the mask, and strings have credentials in URLs blanked
//! (`https://user:[redacted]@host`, `?api_key=[redacted]`). Last, the service scrubs the
//! secret values it was given out of the whole entry ([`scrub_secrets`]), so a token pasted
//! into an innocent-looking field is still never written.

use crate::integrations::{IntegrationConfig, SECRET_MASK, SecretSlot};
use crate::secrets::redact::{REDACTED, is_secret_header};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The most changes one entry lists; the rest are counted (`omitted`).
pub const MAX_CHANGES: usize = 100;
/// Longer values are cut (after redaction) to this many characters.
const MAX_VALUE_CHARS: usize = 200;

/// One changed path. `before`/`after` are left out when the path was added/removed, and both
/// when the values are secret (`redacted: true`): the entry then only says that it changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ConfigChange {
    /// E.g. `api.endpoint`, `api.headers.X-Trace`, `fields[2].required`.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// The changes from `before` to `after` (both as stored, secrets masked), with `replaced`
/// (secret slots given a new value, which the masked configs cannot show) listed as redacted
/// changes. Returns at most [`MAX_CHANGES`] and how many more there were.
pub fn config_changes(
    before: &IntegrationConfig,
    after: &IntegrationConfig,
    replaced: &[SecretSlot],
) -> (Vec<ConfigChange>, usize) {
    let (b, a) = match (serde_json::to_value(before), serde_json::to_value(after)) {
        (Ok(b), Ok(a)) => (b, a),
        // Plain data structs always serialise; should one not, say nothing rather than guess.
        _ => return (Vec::new(), 0),
    };
    // Every change is collected (a config is at most `MAX_CONFIG_BYTES`), then the list is cut,
    // so that `omitted` is exact.
    let mut out = Vec::new();
    walk(&mut Vec::new(), Some(&b), Some(&a), &mut out);
    let stored = before.secret_slots();
    for slot in replaced {
        let path = slot.config_path();
        if !out.iter().any(|c| c.path == path) {
            out.push(ConfigChange {
                path: path.to_string(),
                change: if stored.contains(slot) {
                    "changed"
                } else {
                    "added"
                },
                before: None,
                after: None,
                redacted: true,
            });
        }
    }
    let omitted = out.len().saturating_sub(MAX_CHANGES);
    out.truncate(MAX_CHANGES);
    (out, omitted)
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_text(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn walk(
    path: &mut Vec<Seg>,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<ConfigChange>,
) {
    if before == after {
        return;
    }
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            walk_objects(path, Some(b), Some(a), out)
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) => walk_arrays(path, Some(b), Some(a), out),
        (b, a) => {
            // A container on one side only (added, removed, or its type changed): each of its
            // leaves is listed on its own, so each gets its own redaction.
            let (b_leaf, a_leaf) = (
                b.filter(|v| !is_container(v)),
                a.filter(|v| !is_container(v)),
            );
            if b_leaf.is_some() || a_leaf.is_some() {
                out.push(leaf_change(path, b_leaf, a_leaf));
            }
            match b {
                Some(Value::Object(m)) => walk_objects(path, Some(m), None, out),
                Some(Value::Array(v)) => walk_arrays(path, Some(v), None, out),
                _ => {}
            }
            match a {
                Some(Value::Object(m)) => walk_objects(path, None, Some(m), out),
                Some(Value::Array(v)) => walk_arrays(path, None, Some(v), out),
                _ => {}
            }
        }
    }
}

fn is_container(v: &Value) -> bool {
    v.is_object() || v.is_array()
}

fn walk_objects(
    path: &mut Vec<Seg>,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    out: &mut Vec<ConfigChange>,
) {
    // Before's keys in order, then the keys only after has.
    let keys = before.into_iter().flat_map(|m| m.keys()).chain(
        after
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| before.is_none_or(|b| !b.contains_key(*k))),
    );
    for k in keys {
        path.push(Seg::Key(k.clone()));
        walk(
            path,
            before.and_then(|m| m.get(k)),
            after.and_then(|m| m.get(k)),
            out,
        );
        path.pop();
    }
}

fn walk_arrays(
    path: &mut Vec<Seg>,
    before: Option<&Vec<Value>>,
    after: Option<&Vec<Value>>,
    out: &mut Vec<ConfigChange>,
) {
    let len = before.map_or(0, Vec::len).max(after.map_or(0, Vec::len));
    for i in 0..len {
        path.push(Seg::Index(i));
        walk(
            path,
            before.and_then(|v| v.get(i)),
            after.and_then(|v| v.get(i)),
            out,
        );
        path.pop();
    }
}

fn leaf_change(path: &[Seg], before: Option<&Value>, after: Option<&Value>) -> ConfigChange {
    let change = match (before, after) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    };
    let secret_key = path.iter().rev().find_map(|s| match s {
        Seg::Key(k) => Some(is_secret_name(k)),
        Seg::Index(_) => None,
    });
    let masked = |v: Option<&Value>| v.is_some_and(|v| v.as_str() == Some(SECRET_MASK));
    let redacted = secret_key.unwrap_or(false) || masked(before) || masked(after);
    let shown = |v: Option<&Value>| if redacted { None } else { v.map(shown_value) };
    ConfigChange {
        path: path_text(path),
        change,
        before: shown(before),
        after: shown(after),
        redacted,
    }
}

fn shown_value(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let s = redact_text(s);
            if s.chars().count() > MAX_VALUE_CHARS {
                Value::String(format!(
                    "{}…",
                    s.chars().take(MAX_VALUE_CHARS).collect::<String>()
                ))
            } else {
                Value::String(s)
            }
        }
        other => other.clone(),
    }
}

/// Whether a key (a header, a query parameter, a config key) names a credential: the words
/// delivery records redact (token, secret, key, password, auth, cookie, session), and a few
/// more (pass, pwd, sig, credential, private).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    is_secret_header(&n)
        || ["pass", "pwd", "sig", "credential", "private"]
            .iter()
            .any(|w| n.contains(w))
}

/// `text` with the credentials a URL can carry blanked: the password (or a lone token) before
/// `@`, and the values of query (or fragment) parameters whose names look secret. Other text is returned
/// as it is. Works on templated URLs (`https://{{host}}/p?key=...`) too: nothing is parsed
/// strictly.
pub fn redact_text(text: &str) -> String {
    let mut out = text.to_string();
    let url_like = text.contains("://");
    if let Some(i) = text.find("://") {
        let start = i + 3;
        let rest = &text[start..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@') {
            let shown = match authority[..at].split_once(':') {
                Some((user, _)) => format!("{user}:{REDACTED}"),
                None => REDACTED.to_string(),
            };
            out = format!("{}{shown}{}", &text[..start], &rest[at..]);
        }
    }
    if !(url_like || out.starts_with('/')) {
        return out;
    }
    // The query, and a fragment of `k=v` pairs (OAuth's implicit flow puts tokens there).
    let (rest, fragment) = match out.find('#') {
        Some(h) => (&out[..h], Some(redact_pairs(&out[h + 1..]))),
        None => (out.as_str(), None),
    };
    let mut shown = match rest.find('?') {
        Some(q) => format!("{}?{}", &rest[..q], redact_pairs(&rest[q + 1..])),
        None => rest.to_string(),
    };
    if let Some(f) = fragment {
        shown.push('#');
        shown.push_str(&f);
    }
    shown
}

/// `a=1&api_key=x` -> `a=1&api_key=[redacted]`: values of pairs whose (decoded) name looks
/// secret are blanked; anything else is kept as it is.
fn redact_pairs(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| {
            let name = url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            match pair.split_once('=') {
                Some((k, _)) if is_secret_name(&name) => format!("{k}={REDACTED}"),
                _ => pair.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Where a config delivers, as the trail shows it (credentials in URLs blanked).
pub fn target_summary(config: &IntegrationConfig) -> Value {
    match (&config.api, &config.database) {
        (Some(api), _) => json!({
            "kind": config.kind.as_str(),
            "method": api.method.as_str(),
            "endpoint": redact_text(&api.endpoint),
        }),
        (None, Some(db)) => json!({
            "kind": config.kind.as_str(),
            "type": db.db_type.as_str(),
            "hostname": db.hostname.as_deref().map(redact_text),
            "database": redact_text(&db.database),
            "table": db.table,
        }),
        (None, None) => json!({"kind": config.kind.as_str()}),
    }
}

/// Replaces every occurrence of the given secret values in every string of `value` (keys
/// included) with [`REDACTED`]: the last line of defence for a secret pasted where no rule
/// expects one.
pub fn scrub_secrets(value: &mut Value, secrets: &[&str]) {
    let scrub = |s: &str| {
        secrets
            .iter()
            .filter(|x| !x.is_empty())
            .fold(s.to_string(), |acc, x| acc.replace(x, REDACTED))
    };
    match value {
        Value::String(s) if secrets.iter().any(|x| !x.is_empty() && s.contains(x)) => {
            *s = scrub(s);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_secrets(v, secrets)),
        Value::Object(map) => {
            let taken = std::mem::take(map);
            for (k, mut v) in taken {
                scrub_secrets(&mut v, secrets);
                map.insert(scrub(&k), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::parse_config;

    fn config(v: Value) -> IntegrationConfig {
        parse_config(&v.to_string(), None).unwrap()
    }

    #[test]
    fn urls_lose_their_credentials_and_secret_query_values() {
        assert_eq!(
            redact_text("https://u:p4ss@h.example/x?api_key=abc&page=2#top"),
            "https://u:[redacted]@h.example/x?api_key=[redacted]&page=2#top"
        );
        assert_eq!(redact_text("https://tok123@h/x"), "https://[redacted]@h/x");
        assert_eq!(
            redact_text("/status?access%5Ftoken=t&v=1"),
            "/status?access%5Ftoken=[redacted]&v=1"
        );
        assert_eq!(
            redact_text("postgres://a:b@db/x?sslmode=require"),
            "postgres://a:[redacted]@db/x?sslmode=require"
        );
        assert_eq!(
            redact_text("plain text? key=value"),
            "plain text? key=value"
        );
        assert_eq!(redact_text("https://h/users/a@b"), "https://h/users/a@b");
    }

    #[test]
    fn a_diff_names_changed_paths_and_never_a_secret_value() {
        let before = config(json!({
            "name": "emr", "kind": "api",
            "api": {"endpoint": "https://h/p", "headers": {"X-Trace": "1", "X-Api-Token": "old-h"},
                    "authentication": {"type": "bearer", "credentials": {"token": SECRET_MASK}}}
        }));
        let after = config(json!({
            "name": "emr", "kind": "api",
            "api": {"endpoint": "https://h/p?api_key=NEWKEY", "headers": {"X-Trace": "2", "X-Api-Token": "new-h"},
                    "authentication": {"type": "bearer", "credentials": {"token": SECRET_MASK}}}
        }));
        let (changes, omitted) = config_changes(&before, &after, &[SecretSlot::ApiToken]);
        assert_eq!(omitted, 0);
        let text = serde_json::to_string(&changes).unwrap();
        for secret in ["old-h", "new-h", "NEWKEY"] {
            assert!(!text.contains(secret), "{text}");
        }
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "api.endpoint",
                "api.headers.X-Api-Token",
                "api.headers.X-Trace",
                "api.authentication.credentials.token"
            ]
        );
        assert_eq!(
            changes[0].after,
            Some(json!("https://h/p?api_key=[redacted]"))
        );
        assert!(changes[1].redacted && changes[1].before.is_none() && changes[1].after.is_none());
        assert_eq!(changes[2].before, Some(json!("1")));
        assert_eq!(changes[2].after, Some(json!("2")));
        assert!(changes[3].redacted && changes[3].change == "changed");
    }

    #[test]
    fn an_added_section_is_listed_leaf_by_leaf() {
        let before =
            config(json!({"name": "emr", "kind": "api", "api": {"endpoint": "https://h/p"}}));
        let after = config(json!({
            "name": "emr", "kind": "api",
            "api": {"endpoint": "https://h/p",
                    "authentication": {"type": "basic", "credentials": {"username": "bob", "password": SECRET_MASK}}}
        }));
        let (changes, _) = config_changes(&before, &after, &[SecretSlot::ApiPassword]);
        let find = |p: &str| changes.iter().find(|c| c.path == p).unwrap();
        assert_eq!(
            find("api.authentication.credentials.username").after,
            Some(json!("bob"))
        );
        assert_eq!(
            find("api.authentication.credentials.username").change,
            "added"
        );
        assert!(find("api.authentication.credentials.password").redacted);
        assert_eq!(
            changes
                .iter()
                .filter(|c| c.path.ends_with("password"))
                .count(),
            1
        );
    }

    #[test]
    fn a_database_password_and_connection_details_stay_out() {
        let db = |host: &str, password: &str| {
            config(json!({
                "name": "clinic", "kind": "database",
                "database": {"type": "postgresql", "hostname": host, "database": "c", "username": "app",
                             "password": password, "table": "t", "fieldMapping": {"n": "n"}}
            }))
        };
        let (changes, _) = config_changes(
            &db("db1", SECRET_MASK),
            &db("db2", SECRET_MASK),
            &[SecretSlot::DatabasePassword],
        );
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            json!([
                {"path": "database.hostname", "change": "changed", "before": "db1", "after": "db2"},
                {"path": "database.password", "change": "changed", "redacted": true}
            ])
        );
        // Should a plain password ever reach a diff, its key alone keeps it out.
        let (changes, _) = config_changes(&db("db1", "pw-1"), &db("db1", "pw-2"), &[]);
        assert!(changes[0].redacted && changes[0].before.is_none());
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let fields = |n: usize, required: bool| {
            (0..n)
                .map(|i| json!({"name": format!("f{i}"), "type": "text", "required": required}))
                .collect::<Vec<_>>()
        };
        let cfg = |required| {
            config(
                json!({"name": "x", "kind": "api", "fields": fields(150, required),
                          "api": {"endpoint": "https://h/p"}}),
            )
        };
        let (changes, omitted) = config_changes(&cfg(false), &cfg(true), &[]);
        assert_eq!((changes.len(), omitted), (MAX_CHANGES, 50));
        assert_eq!(changes[0].path, "fields[0].required");
    }

    #[test]
    fn scrubbing_removes_given_values_everywhere() {
        let mut v = json!({"a": ["x SECRET y"], "SECRETkey": 1});
        scrub_secrets(&mut v, &["SECRET"]);
        assert_eq!(v, json!({"a": ["x [redacted] y"], "[redacted]key": 1}));
    }
}
