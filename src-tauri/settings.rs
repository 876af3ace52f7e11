//! The data dir's settings file (`settings.json`): a JSON object of settings, each owned by
//! the module that reads it (`secrets`: the backend; `store`: the store to open;
//! `intakeListener`: the window's intake listener). Read and written one key at a time; a write keeps the other keys and replaces
//! the file atomically, owner-only. A leaf: it knows no setting's meaning.

use serde_json::{Map, Value};
use std::io::Read;
use std::path::Path;

pub const SETTINGS_FILE: &str = "settings.json";
/// The settings file is small; anything larger is not one.
pub const MAX_SETTINGS_BYTES: u64 = 64 * 1024;

/// The settings as a JSON object (empty when there is no file). The error says why the file
/// cannot be used, for the caller to name.
pub fn read_all(data_dir: &Path) -> Result<Map<String, Value>, String> {
    let path = data_dir.join(SETTINGS_FILE);
    let mut text = String::new();
    match std::fs::File::open(&path) {
        Ok(f) => f
            .take(MAX_SETTINGS_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot be read: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    if text.len() as u64 > MAX_SETTINGS_BYTES {
        return Err(format!(
            "the file is larger than {MAX_SETTINGS_BYTES} bytes"
        ));
    }
    serde_json::from_str(&text).map_err(|e| format!("not a JSON object: {e}"))
}

/// One setting (`None` when unset or null).
pub fn read_key(data_dir: &Path, key: &str) -> Result<Option<Value>, String> {
    Ok(read_all(data_dir)?.remove(key).filter(|v| !v.is_null()))
}

/// Saves one setting, keeping the others.
pub fn write_key(data_dir: &Path, key: &str, value: Value) -> Result<(), String> {
    let path = data_dir.join(SETTINGS_FILE);
    let mut settings = read_all(data_dir)?;
    settings.insert(key.into(), value);
    let text = serde_json::to_string_pretty(&settings).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    crate::files::private_dir(data_dir)
        .and_then(|()| crate::files::write_private(&tmp, (text + "\n").as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("cannot be written: {e}"))
}
