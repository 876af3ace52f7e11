//! Presets: documented sample events and ready mappings for Dentrix-, OpenDental- and
//! Eaglesoft-style EHR bridges (new patient; appointment booked, changed, cancelled) and a
//! voice platform's end-of-call report, so an admin picks one instead of writing pointers. They
//! live as JSON in `presets/intake/` (embedded at build time) and map to the demo workspace's
//! field names (`fullName`, `email`, `phoneNumber`, `appointmentDate`, `additionalNotes`).

use super::mappings::{EventMatch, FieldMapping, SyncFrequency, ValueSource};
use super::sources::SourceKind;
use super::verify::Verification;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// One system's presets.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresetSystem {
    pub system: String,
    pub title: String,
    pub description: String,
    /// The source kind and verification such a sender uses.
    pub kind: SourceKind,
    pub verification: Verification,
    pub events: Vec<Preset>,
}

/// One event: a sample body (and headers) as such a system sends it, and the mapping for it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preset {
    pub id: String,
    pub title: String,
    #[serde(default)]
    #[cfg_attr(test, ts(type = "Record<string, string>"))]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub headers: Map<String, Value>,
    #[cfg_attr(test, ts(type = "unknown"))]
    pub sample: Value,
    pub mapping: PresetMapping,
}

/// A mapping without its source and integration (the admin picks them).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresetMapping {
    pub name: String,
    pub event: Option<EventMatch>,
    pub fields: Vec<FieldMapping>,
    #[serde(default)]
    pub session: Option<ValueSource>,
    #[serde(default)]
    pub sync: Option<SyncFrequency>,
}

const FILES: [(&str, &str); 4] = [
    ("dentrix", include_str!("../../presets/intake/dentrix.json")),
    (
        "opendental",
        include_str!("../../presets/intake/opendental.json"),
    ),
    (
        "eaglesoft",
        include_str!("../../presets/intake/eaglesoft.json"),
    ),
    ("voice", include_str!("../../presets/intake/voice.json")),
];

/// Every preset, by system. The files are checked by the tests, so reading them cannot fail
/// in a build that passed them; one that did would be left out with an error in the log.
pub fn presets() -> &'static [PresetSystem] {
    static PRESETS: OnceLock<Vec<PresetSystem>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(name, text)| match serde_json::from_str(text) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::error!("preset file {name}.json cannot be read: {e}");
                    None
                }
            })
            .collect()
    })
}

/// A preset by its id.
pub fn preset(id: &str) -> Option<(&'static PresetSystem, &'static Preset)> {
    presets()
        .iter()
        .flat_map(|s| s.events.iter().map(move |e| (s, e)))
        .find(|(_, e)| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_file_reads_and_covers_the_events_the_issue_names() {
        for (name, text) in FILES {
            serde_json::from_str::<PresetSystem>(text)
                .unwrap_or_else(|e| panic!("{name}.json: {e}"));
        }
        let ids: Vec<&str> = presets()
            .iter()
            .flat_map(|s| s.events.iter().map(|e| e.id.as_str()))
            .collect();
        for system in ["dentrix", "opendental", "eaglesoft"] {
            for event in [
                "new-patient",
                "appointment-booked",
                "appointment-changed",
                "appointment-cancelled",
            ] {
                let id = format!("{system}-{event}");
                assert!(ids.contains(&id.as_str()), "{id} missing");
            }
        }
        assert!(ids.contains(&"voice-end-of-call-report"));
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "a preset id is used twice");
        for s in presets() {
            s.verification.validate().unwrap();
        }
    }
}
