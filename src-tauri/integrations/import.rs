//! Reading a config file: the envelope, or a bare seed `APIConfig` / `DatabaseConfig`
//! (recognised by its keys) wrapped in one, so that a seed config imports unchanged.

use super::{ConfigError, IntegrationConfig, TargetKind};
use serde_json::Value;

/// Config files larger than this are refused before parsing.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Parses a config document. `fallback_name` names a bare seed config (e.g. the file's stem).
pub fn parse_config(
    text: &str,
    fallback_name: Option<&str>,
) -> Result<IntegrationConfig, ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::Parse {
            field: "(config)".into(),
            reason: format!("is {} bytes; the limit is {MAX_CONFIG_BYTES}", text.len()),
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
        field: "(config)".into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let Value::Object(map) = &value else {
        return Err(ConfigError::Parse {
            field: "(config)".into(),
            reason: "must be a JSON object".into(),
        });
    };
    let value = if map.contains_key("kind") || map.contains_key("name") {
        value
    } else if map.contains_key("endpoint") {
        wrap(TargetKind::Api, value, fallback_name)?
    } else if map.contains_key("fieldMapping") || map.contains_key("table") {
        wrap(TargetKind::Database, value, fallback_name)?
    } else {
        return Err(ConfigError::Parse {
            field: "kind".into(),
            reason: "missing; expected \"api\" or \"database\" (or a bare seed APIConfig / DatabaseConfig)".into(),
        });
    };
    from_value(value)
}

fn wrap(kind: TargetKind, section: Value, name: Option<&str>) -> Result<Value, ConfigError> {
    let name = name.ok_or_else(|| ConfigError::Parse {
        field: "name".into(),
        reason: "a bare seed config needs a name (give --name)".into(),
    })?;
    Ok(serde_json::json!({ "name": name, "kind": kind.as_str(), kind.as_str(): section }))
}

/// Deserialises with the path of the offending field in the error.
fn from_value(value: Value) -> Result<IntegrationConfig, ConfigError> {
    let text = value.to_string();
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "(config)".to_string()
        } else {
            path
        };
        ConfigError::Parse {
            field,
            reason: clean_serde_message(&e.inner().to_string()),
        }
    })
}

/// serde_json appends " at line L column C", which means nothing for a re-serialised value.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
