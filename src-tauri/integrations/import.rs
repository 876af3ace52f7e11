//! Reading a config file: the envelope, or a bare seed `APIConfig` / `DatabaseConfig`
//! (recognised by its keys) wrapped in one, so that a seed config imports unchanged.
//!
//! Reading goes on past a bad value: each value that cannot be read is a problem of its own
//! (its path and, in plain words, what it must be), taken out of the document, and the rest is
//! read again, so that one save reports every problem at once. A setting taken out falls back to
//! its default; a required one is reported once and a stand-in takes its place, which
//! validation then leaves alone (see [`ConfigDraft`]).

use super::{ConfigError, IntegrationConfig, TargetKind};
use crate::error::FieldProblem;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Config files larger than this are refused before parsing.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;
/// Reading stops after this many problems (the list is long enough to work on).
const MAX_PROBLEMS: usize = 50;
/// The most values a stand-in may be tried with before reading gives up.
const MAX_ROUNDS: usize = MAX_PROBLEMS * 6;
/// Values quoted in a reason are cut to this many characters.
const MAX_QUOTED: usize = 40;

/// A config as read from its text, with the problems found while reading it.
#[derive(Debug, Clone)]
pub struct ConfigDraft {
    pub config: IntegrationConfig,
    /// Values that could not be read, each left out of `config`.
    problems: Vec<FieldProblem>,
    /// Where `config` holds what the text did not say: validation's problems there are about
    /// a stand-in (or a guessed choice), not about anything the user wrote.
    quiet: Vec<Quiet>,
    /// Array elements taken out, by the array's path, so that later paths keep the indices of
    /// the text (`fields[3]` stays `fields[3]` after `fields[1]` was taken out).
    removed: BTreeMap<String, Vec<usize>>,
    /// Keys given twice in one object. Their values were read (the last one), so validation's
    /// problems under them still count.
    duplicates: Vec<FieldProblem>,
}

#[derive(Debug, Clone)]
enum Quiet {
    /// A stand-in at this path (and what is under it).
    At(String),
    /// Everything under this path (a section whose type was guessed).
    Under(String),
}

impl From<IntegrationConfig> for ConfigDraft {
    fn from(config: IntegrationConfig) -> Self {
        Self {
            config,
            problems: Vec::new(),
            quiet: Vec::new(),
            removed: BTreeMap::new(),
            duplicates: Vec::new(),
        }
    }
}

impl ConfigDraft {
    /// Validates the config (normalising it, see [`super::validate`]) and answers it with every
    /// problem found, reading's first, then validation's (none about a value reading already
    /// reported or a stand-in).
    pub fn validate(self) -> (IntegrationConfig, Vec<FieldProblem>) {
        let (config, found) = super::validate::check(self.config);
        let reported = self.problems.len();
        let mut problems = self.duplicates;
        problems.extend(self.problems);
        let read = problems.len() - reported;
        for p in found {
            let field = if self.removed.is_empty() {
                p.field
            } else {
                display(&to_original(&self.removed, &parse_path(&p.field)))
            };
            let reported = problems[read..]
                .iter()
                .any(|r| is_at_or_under(&field, &r.field));
            let quiet = self.quiet.iter().any(|q| match q {
                Quiet::At(at) => is_at_or_under(&field, at),
                Quiet::Under(section) => is_under(&field, section),
            });
            if !reported && !quiet {
                problems.push(FieldProblem {
                    field,
                    reason: p.reason,
                });
            }
        }
        // A config made of thousands of mistakes gets the first ones: enough to fix, bounded.
        problems.truncate(MAX_PROBLEMS);
        (config, problems)
    }
}

/// Parses a config document. `fallback_name` names a bare seed config (e.g. the file's stem).
/// Any problem is an error; [`read_config`] keeps reading past them.
pub fn parse_config(
    text: &str,
    fallback_name: Option<&str>,
) -> Result<IntegrationConfig, ConfigError> {
    let draft = read_config(text, fallback_name)?;
    if draft.problems.is_empty() && draft.duplicates.is_empty() {
        Ok(draft.config)
    } else {
        let mut problems = draft.duplicates;
        problems.extend(draft.problems);
        Err(ConfigError::Invalid(problems))
    }
}

/// Reads a config document, every problem included. An error only when nothing could be made
/// of it: not JSON, not an object, too large, or not even its kind could be read (then with
/// the problems found until then).
pub fn read_config(text: &str, fallback_name: Option<&str>) -> Result<ConfigDraft, ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::Parse {
            field: "(config)".into(),
            reason: format!("is {} bytes; the limit is {MAX_CONFIG_BYTES}", text.len()),
        });
    }
    // A byte order mark, as some Windows editors write at the start of a UTF-8 file.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
        field: "(config)".into(),
        reason: not_json(&e),
    })?;
    let Value::Object(map) = &value else {
        return Err(ConfigError::Parse {
            field: "(config)".into(),
            reason: "must be a JSON object ({ … })".into(),
        });
    };
    let mut duplicates = duplicate_keys(text);
    let value = if map.contains_key("kind") || map.contains_key("name") {
        value
    } else if map.contains_key("endpoint") {
        under(&mut duplicates, TargetKind::Api);
        wrap(TargetKind::Api, value, fallback_name)?
    } else if map.contains_key("fieldMapping") || map.contains_key("table") {
        under(&mut duplicates, TargetKind::Database);
        wrap(TargetKind::Database, value, fallback_name)?
    } else {
        return Err(ConfigError::Parse {
            field: "kind".into(),
            reason: "is missing: it must be \"api\" or \"database\" (or give a bare seed \
                     APIConfig / DatabaseConfig)"
                .into(),
        });
    };
    let duplicates = duplicates
        .into_iter()
        .map(|path| FieldProblem {
            field: display(&path),
            reason: "is given more than once in the same object: keep one (JSON would quietly \
                     use the last)"
                .into(),
        })
        .collect();
    Reader {
        duplicates,
        ..Reader::default()
    }
    .read(value)
}

/// A bare seed config's paths as the envelope has them (`method` → `api.method`).
fn under(paths: &mut [Vec<Seg>], kind: TargetKind) {
    for path in paths {
        path.insert(0, Seg::Key(kind.as_str().to_string()));
    }
}

/// The paths of keys given twice in one object, in the order of the text. serde_json (like
/// most readers) keeps the last value without a word, so a setting written twice would take
/// whichever came last.
fn duplicate_keys(text: &str) -> Vec<Vec<Seg>> {
    use serde::de::DeserializeSeed;
    let found = std::cell::RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    // The text already parsed as JSON; nothing new can fail here.
    let _ = Scan {
        path: Vec::new(),
        found: &found,
    }
    .deserialize(&mut de);
    found.into_inner()
}

/// Walks a JSON document, noting each key seen before in its object.
struct Scan<'a> {
    path: Vec<Seg>,
    found: &'a std::cell::RefCell<Vec<Vec<Seg>>>,
}

impl Scan<'_> {
    fn at(&self, seg: Seg) -> Self {
        let mut path = self.path.clone();
        path.push(seg);
        Scan {
            path,
            found: self.found,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Scan<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Scan<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq.next_element_seed(self.at(Seg::Index(i)))?.is_some() {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let inner = self.at(Seg::Key(key.clone()));
            if !seen.insert(key) {
                self.found.borrow_mut().push(inner.path.clone());
            }
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

fn wrap(kind: TargetKind, section: Value, name: Option<&str>) -> Result<Value, ConfigError> {
    let name = name.ok_or_else(|| ConfigError::Parse {
        field: "name".into(),
        reason: "a bare seed config needs a name: give the integration a name".into(),
    })?;
    Ok(serde_json::json!({ "name": name, "kind": kind.as_str(), kind.as_str(): section }))
}

/// serde_json's syntax error in words, with where it is in the text.
fn not_json(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    let what = if what.starts_with("EOF while parsing") {
        "the text ends before the JSON does (a closing } or ] or \" is missing)"
    } else if what == "trailing comma" {
        "a comma before a closing } or ]"
    } else if what == "key must be a string" {
        "a setting's name without double quotes"
    } else if what == "trailing characters" {
        "more text after the end of the JSON"
    } else if what == "expected value" {
        "something that is not a JSON value (text needs double quotes)"
    } else {
        what
    };
    format!(
        "is not valid JSON: {what} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// One step of a path: an object's key or an array's index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `api.headers.X-Key`, `fields[2].name`; the root is `(config)`.
fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "(config)".to_string()
    } else {
        out
    }
}

/// The inverse of [`display`] for validation's paths (which never have dots inside a key that
/// sits above an array).
fn parse_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Seg::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(inner) = rest.strip_prefix('[') {
                let Some((n, after)) = inner.split_once(']') else {
                    break;
                };
                match n.parse() {
                    Ok(i) => out.push(Seg::Index(i)),
                    Err(_) => out.push(Seg::Key(format!("[{n}]"))),
                }
                rest = after;
            }
        } else {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

/// A path in the current document as a path in the text (indices before elements taken out).
fn to_original(removed: &BTreeMap<String, Vec<usize>>, path: &[Seg]) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::with_capacity(path.len());
    for seg in path {
        match seg {
            Seg::Key(k) => out.push(Seg::Key(k.clone())),
            Seg::Index(i) => {
                let gone = removed.get(&display(&out));
                let original = (0..)
                    .filter(|j| gone.is_none_or(|g| !g.contains(j)))
                    .nth(*i)
                    .unwrap_or(*i);
                out.push(Seg::Index(original));
            }
        }
    }
    out
}

fn is_under(path: &str, section: &str) -> bool {
    section == "(config)"
        || path
            .strip_prefix(section)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

fn is_at_or_under(path: &str, at: &str) -> bool {
    path == at || is_under(path, at)
}

fn value_at<'a>(value: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, seg| match seg {
        Seg::Key(k) => v.get(k),
        Seg::Index(i) => v.get(i),
    })
}

fn value_at_mut<'a>(value: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k),
        Seg::Index(i) => v.get_mut(i),
    })
}

/// The path of a serde error, or `None` where it cannot be followed.
fn segments(path: &serde_path_to_error::Path) -> Option<Vec<Seg>> {
    path.iter()
        .map(|s| match s {
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            _ => None,
        })
        .collect()
}

fn deserialize(value: &Value) -> Result<IntegrationConfig, (Option<Vec<Seg>>, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| (segments(e.path()), e.inner().to_string()))
}

#[derive(Default)]
struct Reader {
    /// Keys given twice (see [`ConfigDraft::duplicates`]).
    duplicates: Vec<FieldProblem>,
    problems: Vec<FieldProblem>,
    reported: HashSet<String>,
    quiet: Vec<Quiet>,
    removed: BTreeMap<String, Vec<usize>>,
}

impl Reader {
    fn read(mut self, mut value: Value) -> Result<ConfigDraft, ConfigError> {
        for _ in 0..MAX_ROUNDS {
            let (path, message) = match deserialize(&value) {
                Ok(config) => {
                    return Ok(ConfigDraft {
                        config,
                        problems: self.problems,
                        quiet: self.quiet,
                        removed: self.removed,
                        duplicates: self.duplicates,
                    });
                }
                Err(e) => e,
            };
            let Some(path) = path else {
                self.report(&[], clean(&message));
                break;
            };
            if self.problems.len() >= MAX_PROBLEMS {
                break;
            }
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split_once('`'))
                .map(|(field, _)| field)
            {
                let mut full = path;
                full.push(Seg::Key(field.to_string()));
                self.report(&full, "is required".to_string());
                if !self.stand_in(&mut value, &full) {
                    break;
                }
            } else {
                let reason = reason(&value, &path, &message);
                self.report(&path, reason);
                if path.is_empty() || !self.take_out(&mut value, &path) {
                    break;
                }
            }
        }
        if self.problems.is_empty() {
            // Only reachable if the rounds ran out without a problem, which they cannot.
            self.report(&[], "could not be read".to_string());
        }
        let mut problems = self.duplicates;
        problems.extend(self.problems);
        Err(ConfigError::Invalid(problems))
    }

    /// Records a problem once per path of the text.
    fn report(&mut self, path: &[Seg], reason: String) {
        let field = display(&to_original(&self.removed, path));
        if self.reported.insert(field.clone()) {
            self.problems.push(FieldProblem { field, reason });
        }
    }

    /// Takes the value at `path` out of the document.
    fn take_out(&mut self, value: &mut Value, path: &[Seg]) -> bool {
        let Some((last, parent)) = path.split_last() else {
            return false;
        };
        let original_parent = display(&to_original(&self.removed, parent));
        let original_last = to_original(&self.removed, path).pop();
        match (value_at_mut(value, parent), last) {
            (Some(Value::Object(map)), Seg::Key(k)) => map.shift_remove(k).is_some(),
            (Some(Value::Array(items)), Seg::Index(i)) if *i < items.len() => {
                items.remove(*i);
                if let Some(Seg::Index(original)) = original_last {
                    self.removed
                        .entry(original_parent)
                        .or_default()
                        .push(original);
                }
                true
            }
            _ => false,
        }
    }

    /// Puts a stand-in where a required value is missing, so that the rest can be read: the
    /// kind the sections say, else the first value of its type that reads (a choice's first
    /// option, whose section's validation is then left out). `false` when none does.
    fn stand_in(&mut self, value: &mut Value, full: &[Seg]) -> bool {
        let Some((Seg::Key(key), parent)) = full.split_last() else {
            return false;
        };
        let at = display(&to_original(&self.removed, full));
        let section = display(&to_original(&self.removed, parent));
        let set = |value: &mut Value, v: Value| match value_at_mut(value, parent) {
            Some(Value::Object(map)) => {
                map.insert(key.clone(), v);
                true
            }
            _ => false,
        };
        if parent.is_empty() && key == "kind" {
            // Without its kind nothing else can be checked, unless one section says it.
            let kind = match (value.get("api").is_some(), value.get("database").is_some()) {
                (true, false) => "api",
                (false, true) => "database",
                _ => return false,
            };
            self.quiet.push(Quiet::At(at));
            return set(value, Value::String(kind.into()));
        }
        let fails_here = |value: &Value| match deserialize(value) {
            Ok(_) => None,
            Err((Some(p), message)) if p.starts_with(full) => Some(message),
            Err(_) => None,
        };
        let candidates = [
            Value::String(String::new()),
            Value::Object(Default::default()),
            Value::Array(Vec::new()),
            Value::from(0),
            Value::Bool(false),
        ];
        for candidate in candidates {
            if !set(value, candidate) {
                return false;
            }
            let Some(message) = fails_here(value) else {
                self.quiet.push(Quiet::At(at));
                return true;
            };
            if let Some(first) = choices(&message).into_iter().next() {
                set(value, Value::String(first));
                if fails_here(value).is_none() {
                    self.quiet.push(Quiet::Under(section));
                    return true;
                }
            }
        }
        false
    }
}

/// Every `quoted` name after "expected" in serde's message (`expected one of `a`, `b``).
fn choices(message: &str) -> Vec<String> {
    let Some(i) = message.find("expected") else {
        return Vec::new();
    };
    message[i..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// serde's message without the position serde_json adds (meaningless for a re-read value).
fn clean(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Whether values at this path may be credentials, which a reason never quotes.
fn may_be_secret(path: &[Seg]) -> bool {
    path.iter().any(|s| {
        matches!(s, Seg::Key(k) if matches!(k.as_str(), "authentication" | "headers" | "password"))
    })
}

/// What was given, in words: `text "abc"`, `-5`, `an object`.
fn got(value: Option<&Value>, secret: bool) -> String {
    match value {
        None => "nothing".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::Object(_)) => "an object".into(),
        Some(Value::Array(_)) => "a list".into(),
        Some(Value::String(_)) if secret => "text".into(),
        Some(Value::Number(_)) if secret => "a number".into(),
        Some(Value::Bool(_)) if secret => "true or false".into(),
        Some(Value::String(s)) => format!("text {}", quote(s)),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
    }
}

/// `"abc"`, cut to [`MAX_QUOTED`] characters.
fn quote(s: &str) -> String {
    if s.chars().count() > MAX_QUOTED {
        let cut: String = s.chars().take(MAX_QUOTED).collect();
        format!("\"{cut}…\"")
    } else {
        format!("\"{s}\"")
    }
}

/// A whole number type's range in words.
fn whole_number(expected: &str) -> Option<&'static str> {
    Some(match expected {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number, 0 or more",
        "i64" | "i32" => "a whole number",
        _ => return None,
    })
}

/// The reason for a value serde refused, in plain words.
fn reason(value: &Value, path: &[Seg], message: &str) -> String {
    let message = clean(message);
    let secret = may_be_secret(path);
    let given = value_at(value, path);
    let got = got(given, secret);
    if let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
    {
        let mut out = format!("unknown setting '{name}'");
        if let Some(known) = closest(name, &choices(&message)) {
            out.push_str(&format!(" (did you mean '{known}'?)"));
        }
        return out;
    }
    if message.starts_with("unknown variant") {
        return format!(
            "must be one of {} (got {got})",
            choices(&message).join(", ")
        );
    }
    if message.starts_with("data did not match any variant of untagged enum SslSetting") {
        return format!(
            "must be true (verified TLS), false (none) or a mode: {} (PostgreSQL), or {} \
             (MySQL/MariaDB) (got {got})",
            super::SslMode::POSTGRES
                .map(super::SslMode::as_str)
                .join(", "),
            super::SslMode::MYSQL.map(super::SslMode::as_str).join(", ")
        );
    }
    if message.starts_with("data did not match any variant") {
        return format!("is not one of the accepted values (got {got})");
    }
    let expected = message
        .rfind(", expected ")
        .map(|i| &message[i + ", expected ".len()..]);
    let is_port = matches!(path.last(), Some(Seg::Key(k)) if k == "port");
    let must = match expected {
        Some("u16") if is_port => Some("a port number from 1 to 65535".into()),
        Some(e) if whole_number(e).is_some() => whole_number(e).map(str::to_string),
        Some("a string") => Some("text".into()),
        Some("a boolean") => Some("true or false".into()),
        Some("a map") => Some("an object ({ \"name\": value, … })".into()),
        Some("a sequence") => Some("a list ([ … ])".into()),
        Some(e) if e.starts_with("struct ") => Some("an object of settings ({ … })".into()),
        // A choice given as something other than text: its options, from serde itself.
        Some("string or map") => {
            let options = options_at(value, path);
            (!options.is_empty()).then(|| format!("one of {}", options.join(", ")))
        }
        _ => None,
    };
    match must {
        Some(must) => format!("must be {must} (got {got})"),
        None => message,
    }
}

/// The options of the choice at `path`, asked of serde by giving it an empty name.
fn options_at(value: &Value, path: &[Seg]) -> Vec<String> {
    let mut probe = value.clone();
    match value_at_mut(&mut probe, path) {
        Some(slot) => *slot = Value::String(String::new()),
        None => return Vec::new(),
    }
    match deserialize(&probe) {
        Err((Some(p), message)) if p == path && message.starts_with("unknown variant") => {
            choices(&message)
        }
        _ => Vec::new(),
    }
}

/// The known name `given` was most likely meant to be, when that is clear: the same but for
/// case or separators, a prefix of it (`timeout` for `timeoutMs`), or one or two letters off.
fn closest<'a>(given: &str, known: &'a [String]) -> Option<&'a str> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let g = norm(given);
    if let Some(k) = known.iter().find(|k| norm(k) == g) {
        return Some(k);
    }
    if g.chars().count() < 4 {
        return None;
    }
    let prefixed: Vec<&String> = known.iter().filter(|k| norm(k).starts_with(&g)).collect();
    if let [only] = prefixed.as_slice() {
        return Some(only);
    }
    let mut best: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (edit_distance(&g, &norm(k)), k))
        .filter(|(d, _)| *d <= 2)
        .collect();
    best.sort_by_key(|(d, _)| *d);
    match best.as_slice() {
        [(d, k)] => (*d <= 2).then_some(k.as_str()),
        [(d0, k), (d1, _), ..] if d0 < d1 => Some(k.as_str()),
        _ => None,
    }
}

/// Levenshtein distance (the names compared are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_translate_back_to_the_texts_indices() {
        let mut removed = BTreeMap::new();
        removed.insert("fields".to_string(), vec![1]);
        let p = parse_path("fields[1].name");
        assert_eq!(display(&to_original(&removed, &p)), "fields[2].name");
        assert_eq!(
            display(&to_original(&removed, &parse_path("fields[0]"))),
            "fields[0]"
        );
        removed.insert("fields".to_string(), vec![1, 0]);
        assert_eq!(
            display(&to_original(&removed, &parse_path("fields[0]"))),
            "fields[2]"
        );
        assert_eq!(
            display(&parse_path("api.headers.X-Key")),
            "api.headers.X-Key"
        );
        assert_eq!(
            display(&parse_path("api.expect.status[3]")),
            "api.expect.status[3]"
        );
    }

    #[test]
    fn a_misspelt_setting_names_the_one_meant_when_it_is_clear() {
        let known: Vec<String> = ["endpoint", "method", "timeoutMs", "connectTimeoutMs"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest("methd", &known), Some("method"));
        assert_eq!(closest("timeout", &known), Some("timeoutMs"));
        assert_eq!(closest("Endpoint", &known), Some("endpoint"));
        assert_eq!(closest("timeout_ms", &known), Some("timeoutMs"));
        assert_eq!(closest("color", &known), None);
        assert_eq!(closest("x", &known), None);
    }
}
