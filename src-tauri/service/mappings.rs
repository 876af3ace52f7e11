//! Intake mappings as the service offers them: added, changed and removed (checked against their
//! integration's field schema, audited), listed, and tried on a sample body (what handoff it
//! would make; nothing is sent or stored).

use super::App;
use crate::audit::{AuditAction, AuditObject};
use crate::error::{AppError, ErrorKind, FieldProblem};
use crate::ids::MappingId;
use crate::intake::mappings::{
    self, EventMatch, FieldMapping, Mapping, MappingSettings, Message, SyncFrequency, ValueSource,
    is_mapping_name_conflict,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A mapping as an admin describes it (for a new one, or all of an existing one's settings).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MappingRequest {
    /// The source's id or name.
    pub source: String,
    pub name: String,
    /// Which messages it takes; none: every message no mapping with an event takes.
    #[cfg_attr(test, ts(optional))]
    pub event: Option<EventMatch>,
    /// The integration's id or name (one the source may name).
    pub integration: String,
    pub fields: Vec<FieldMapping>,
    /// Where the session id comes from; default: the message id.
    #[cfg_attr(test, ts(optional))]
    pub session: Option<ValueSource>,
    /// Default: realtime.
    #[cfg_attr(test, ts(optional))]
    pub sync: Option<SyncFrequency>,
    /// Default: true.
    #[cfg_attr(test, ts(optional))]
    pub enabled: Option<bool>,
}

/// Which mappings to list.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MappingsQuery {
    /// A source's id or name.
    #[cfg_attr(test, ts(optional))]
    pub source: Option<String>,
}

/// A sample body to try: against a saved mapping (`id`), or an unsaved one (`mapping`, as the
/// editor has it), or against every mapping of `source` (as a message would be taken).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MappingTry {
    #[cfg_attr(test, ts(optional))]
    pub id: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub mapping: Option<MappingRequest>,
    #[cfg_attr(test, ts(optional))]
    pub source: Option<String>,
    #[cfg_attr(test, ts(type = "unknown"))]
    pub body: Value,
    /// Headers the sample came with (for an event read from a header).
    #[serde(default)]
    #[cfg_attr(test, ts(optional, type = "Record<string, string>"))]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub headers: Map<String, Value>,
}

/// What a sample would become. Nothing is sent or stored.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct MappingPreview {
    /// Whether the mapping takes the sample (its event matches; it is enabled).
    pub matched: bool,
    /// The mapping that took it (when tried against a source's mappings).
    pub mapping: Option<String>,
    pub integration: Option<String>,
    pub session_id: Option<String>,
    /// The handoff's data as the integration's checks leave it.
    #[cfg_attr(test, ts(type = "Record<string, unknown> | null"))]
    pub data: Option<Value>,
    /// Every field that could not be made or does not pass the integration's checks.
    pub problems: Vec<FieldProblem>,
    pub sync: Option<SyncFrequency>,
}

/// A sample's bound: as a message's.
const MAX_SAMPLE_BYTES: usize = crate::intake::MAX_INTAKE_BODY;

impl App {
    pub async fn mappings(&self, q: &MappingsQuery) -> Result<Vec<Mapping>, AppError> {
        let source = match &q.source {
            Some(s) => Some(self.source(s).await?.id),
            None => None,
        };
        Ok(self.store.mappings(source).await?)
    }

    /// A mapping by id, or by name when only one mapping has it.
    pub async fn mapping(&self, id_or_name: &str) -> Result<Mapping, AppError> {
        if let Ok(id) = id_or_name.parse::<MappingId>()
            && let Some(m) = self.store.mapping(id).await?
        {
            return Ok(m);
        }
        let named: Vec<Mapping> = self
            .store
            .mappings(None)
            .await?
            .into_iter()
            .filter(|m| m.name == id_or_name.trim())
            .collect();
        match named.len() {
            0 => Err(AppError::not_found("mapping", id_or_name)),
            1 => Ok(named.into_iter().next().expect("one")),
            n => Err(AppError::invalid(
                "mapping",
                format!("{n} mappings are named '{id_or_name}' (one per source): give its id"),
            )),
        }
    }

    pub async fn add_mapping(&self, req: MappingRequest) -> Result<Mapping, AppError> {
        let settings = self.checked_mapping(req).await?;
        let id = MappingId::new();
        self.write_mapping(id, &settings, true, AuditAction::MappingCreated)
            .await
    }

    /// Replaces a mapping's settings.
    pub async fn update_mapping(
        &self,
        id_or_name: &str,
        req: MappingRequest,
    ) -> Result<Mapping, AppError> {
        let current = self.mapping(id_or_name).await?;
        let settings = self.checked_mapping(req).await?;
        self.write_mapping(current.id, &settings, false, AuditAction::MappingUpdated)
            .await
    }

    pub async fn remove_mapping(&self, id_or_name: &str) -> Result<Mapping, AppError> {
        let current = self.mapping(id_or_name).await?;
        let source = self.store.source(current.source_id).await?;
        let audit = self.audit_event(
            AuditAction::MappingRemoved,
            AuditObject::source(
                current.source_id,
                source.as_ref().map_or("", |s| s.name.as_str()),
            ),
            json!({ "mapping": current.name, "mappingId": current.id }),
            &[],
        );
        if !self.store.delete_mapping(current.id, &audit).await? {
            return Err(AppError::not_found("mapping", id_or_name));
        }
        Ok(current)
    }

    /// What a sample body would become: through one mapping (saved or not), or through a
    /// source's mappings as a message would be taken. Nothing is sent or stored.
    pub async fn try_mapping(&self, t: MappingTry) -> Result<MappingPreview, AppError> {
        if t.body.to_string().len() > MAX_SAMPLE_BYTES {
            return Err(AppError::invalid(
                "body",
                format!("is larger than {MAX_SAMPLE_BYTES} bytes"),
            ));
        }
        let headers: Map<String, Value> = t
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let message = Message {
            body: &t.body,
            headers: &headers,
            message_id: "sample-message",
        };
        let candidates: Vec<Mapping> = match (t.id, t.mapping, t.source) {
            (Some(id), None, None) => vec![self.mapping(&id).await?],
            (None, Some(req), None) => {
                let settings = self.checked_mapping(req).await?;
                vec![unsaved(settings)]
            }
            (None, None, Some(source)) => {
                let source = self.source(&source).await?;
                self.store.mappings(Some(source.id)).await?
            }
            _ => {
                return Err(AppError::invalid(
                    "mapping",
                    "give one of: id (a saved mapping), mapping (an unsaved one) or source (its \
                     mappings)",
                ));
            }
        };
        let single = candidates.len() == 1;
        let chosen = if single {
            candidates.first().filter(|m| m.takes(&message))
        } else {
            mappings::choose(&candidates, &message)
        };
        let mut preview = MappingPreview {
            matched: chosen.is_some(),
            mapping: None,
            integration: None,
            session_id: None,
            data: None,
            problems: Vec::new(),
            sync: None,
        };
        // A single mapping is applied even when its event does not match, so the editor shows
        // what its fields make of the sample.
        let Some(mapping) = chosen.or(if single { candidates.first() } else { None }) else {
            return Ok(preview);
        };
        preview.mapping = Some(mapping.name.clone());
        preview.sync = Some(mapping.sync);
        let integration = self
            .store
            .integration(mapping.integration_id)
            .await?
            .ok_or_else(|| {
                AppError::not_found("integration", &mapping.integration_id.to_string())
            })?;
        preview.integration = Some(integration.name.clone());
        match mapping.apply(&message) {
            Err(problems) => preview.problems = problems,
            Ok(mapped) => {
                preview.session_id = Some(mapped.session_id);
                match crate::templating::check_data(
                    &integration.config.fields,
                    &Value::Object(mapped.data.clone()),
                ) {
                    Ok(data) => preview.data = Some(Value::Object(data)),
                    Err(problems) => {
                        preview.data = Some(Value::Object(mapped.data));
                        preview.problems = problems;
                    }
                }
            }
        }
        Ok(preview)
    }

    /// A request's settings, every problem in one `invalid` error: the source and integration
    /// resolved (the integration one the source may name), the mapping against its fields.
    async fn checked_mapping(&self, req: MappingRequest) -> Result<MappingSettings, AppError> {
        let mut problems = Vec::new();
        let source = match self.store.find_source(&req.source).await? {
            Some(s) => Some(s),
            None => {
                problems.push(FieldProblem {
                    field: "source".into(),
                    reason: format!("there is no source '{}'", req.source),
                });
                None
            }
        };
        let integration = match self.store.find_integration(&req.integration).await? {
            Some(i) => Some(i),
            None => {
                problems.push(FieldProblem {
                    field: "integration".into(),
                    reason: format!("there is no integration '{}'", req.integration),
                });
                None
            }
        };
        if let (Some(s), Some(i)) = (&source, &integration)
            && !s.integrations.contains(&i.id)
        {
            problems.push(FieldProblem {
                field: "integration".into(),
                reason: format!(
                    "the source '{}' may not name '{}': add it to the source's integrations first",
                    s.name, i.name
                ),
            });
        }
        let (Some(source), Some(integration)) = (source, integration) else {
            return Err(AppError::invalid_many(problems));
        };
        let settings = MappingSettings {
            source_id: source.id,
            name: req.name,
            event: req.event,
            integration_id: integration.id,
            fields: req.fields,
            session: req.session,
            sync: req.sync.unwrap_or(SyncFrequency::Realtime),
            enabled: req.enabled.unwrap_or(true),
        };
        problems.extend(settings.check(&integration.config.fields));
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(AppError::invalid_many(problems))
        }
    }

    async fn write_mapping(
        &self,
        id: MappingId,
        settings: &MappingSettings,
        new: bool,
        action: AuditAction,
    ) -> Result<Mapping, AppError> {
        let source = self.store.source(settings.source_id).await?;
        let audit = self.audit_event(
            action,
            AuditObject::source(
                settings.source_id,
                source.as_ref().map_or("", |s| s.name.as_str()),
            ),
            json!({
                "mapping": settings.name.trim(),
                "mappingId": id,
                "integrationId": settings.integration_id,
                "event": settings.event,
                "sync": settings.sync,
                "enabled": settings.enabled,
                "fields": settings.fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            }),
            &[],
        );
        match self.store.save_mapping(id, settings, new, &audit).await {
            Ok(true) => {}
            Ok(false) => return Err(AppError::not_found("mapping", &id.to_string())),
            Err(e) if is_mapping_name_conflict(&e) => {
                return Err(AppError::invalid(
                    "name",
                    format!(
                        "the source has a mapping named '{}' already",
                        settings.name.trim()
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.store
            .mapping(id)
            .await?
            .ok_or_else(|| AppError::new(ErrorKind::Internal, "the saved mapping vanished"))
    }
}

/// A mapping not saved (tried from the editor).
fn unsaved(s: MappingSettings) -> Mapping {
    let now = chrono::Utc::now();
    Mapping {
        id: MappingId::new(),
        source_id: s.source_id,
        name: s.name,
        event: s.event,
        integration_id: s.integration_id,
        fields: s.fields,
        session: s.session,
        sync: s.sync,
        enabled: s.enabled,
        created_at: now,
        updated_at: now,
    }
}
