//! The inbox as the service offers it: turning an accepted message into its handoff (a
//! voice platform's names it; a webhook goes through the source's mappings), at once and again
//! after a restart for any a stopped process left; listing messages, showing one with its body
//! masked, the audited reveal, and what a person does with one: release (a `manual` mapping's
//! message), reprocess (with the mappings as they are now), ignore.

use super::App;
use super::data::Opened;
use super::handoffs::{MadeBy, check_send_input};
use super::intake_seed::{SeedDatabaseBody, SeedPushBody, read};
use crate::attempts::{BeginAttempt, HandoffOrigin, InboxBegun, TakenBy};
use crate::audit::{AuditAction, AuditObject};
use crate::error::{AppError, ErrorKind, FieldProblem};
use crate::ids::{HandoffId, InboxId, IntegrationId, MappingId, SourceId};
use crate::intake::inbox::{
    DEFAULT_INBOX_LIMIT, InboxFilter, InboxItem, InboxOutcome, InboxRecord, InboxStatus,
    IntakeEndpoint, MAX_INBOX_LIMIT, MappingVersion, NewInboxMessage,
};
use crate::intake::mappings::{self, Mapping, Message, SyncFrequency};
use crate::integrations::Integration;
use crate::store::now_ms;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A message accepted this long ago whose handoff was not made yet is taken up again (its
/// process stopped): long enough that the accepting process is done with it.
const RESUME_AFTER: Duration = Duration::from_secs(10);
/// How many unfinished messages a worker takes up at a time.
const RESUME_BATCH: u32 = 20;
/// How long a worker holds the unfinished messages it took up: long enough to make their
/// handoffs (each message's first attempt then holds its handoff). Should a batch outlast it (a
/// slow target), a second worker finds the handoff made and leaves the message, or makes the
/// same handoff id, which only one of them can record.
const RESUME_LEASE: Duration = Duration::from_secs(30);

/// Which inbox messages to list, newest first.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboxQuery {
    #[cfg_attr(test, ts(optional))]
    pub status: Option<InboxStatus>,
    /// A source's id or name.
    #[cfg_attr(test, ts(optional))]
    pub source: Option<String>,
    /// A message, session or handoff id, or its start.
    #[cfg_attr(test, ts(optional))]
    pub search: Option<String>,
    /// 1 to 1000; default 50.
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
    #[cfg_attr(test, ts(optional))]
    pub offset: Option<u32>,
}

/// One page of the inbox and how many messages match in all.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    pub total: u64,
}

/// One message with its body as a person may see it: the values a mapping maps masked by their
/// field's type, every other value hidden (`•••`) until an audited reveal.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct InboxView {
    pub item: InboxItem,
    /// `None` when the body is not JSON (its size is in `item`).
    #[cfg_attr(test, ts(type = "unknown"))]
    pub masked_body: Option<Value>,
    /// The header names kept with the message (their values are shown by a reveal).
    pub header_names: Vec<String>,
}

/// A message as it was received (audited).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct InboxRevealed {
    pub id: InboxId,
    /// The body's text (invalid UTF-8 shown as U+FFFD).
    pub body: String,
    /// The headers kept (credentials never are).
    #[cfg_attr(test, ts(type = "Record<string, string>"))]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub headers: Map<String, Value>,
}

/// The body of `POST /intake/v1/<source>/handoffs`: a voice platform names the integration.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandoffBody {
    /// The integration's id or name (one the source may name).
    pub(super) integration: String,
    /// The voice session the data was collected in.
    pub(super) session_id: String,
    /// The collected fields, by the integration's field names (an object: anything else is
    /// refused with the field named, as `send` refuses it).
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub(super) data: Value,
}

impl HandoffBody {
    pub(super) fn read(body: &[u8]) -> Result<Self, AppError> {
        serde_json::from_slice(body).map_err(|e| {
            AppError::invalid(
                "body",
                format!("must be a JSON object {{\"integration\", \"sessionId\", \"data\"}}: {e}"),
            )
        })
    }
}

/// What a message became, when it becomes a handoff now.
pub(super) struct Planned {
    integration: Arc<Integration>,
    session_id: String,
    data: Value,
    encoded: String,
    /// The mapping that took the message, recorded with its handoff.
    mapping: Option<(MappingId, String)>,
}

/// What `mapping` makes of `message`: the handoff for its integration (data checked against
/// the integration's fields), or why it cannot make one.
fn map_with(
    kept: &SourceMappings,
    mapping: &Mapping,
    message: &Message<'_>,
) -> Result<Planned, String> {
    let integration = kept
        .integrations
        .get(&mapping.integration_id)
        .cloned()
        .ok_or_else(|| "the mapping's integration was removed".to_string())?;
    let mapped = mapping.apply(message).map_err(|p| describe(&p))?;
    let data =
        crate::templating::check_data(&integration.config.fields, &Value::Object(mapped.data))
            .map(Value::Object)
            .map_err(|p| describe(&p))?;
    let (session_id, encoded) =
        check_send_input(&mapped.session_id, &data).map_err(|e| e.message)?;
    Ok(Planned {
        integration,
        session_id: session_id.to_string(),
        data,
        encoded,
        mapping: Some((mapping.id, mapping.name.clone())),
    })
}

/// A message being accepted with its handoff planned (`App::accept_intake`): written to the
/// inbox in that handoff's first commit, whose outcome goes back to the listener by `reply`.
/// Dropped unwritten (the attempt could not begin: secrets, the data key), it tells the
/// listener to write the message the usual way.
pub(super) struct Accepting {
    pub(super) message: NewInboxMessage,
    pub(super) mapping: (MappingId, String),
    pub(super) versions: Vec<MappingVersion>,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<InboxBegun, AppError>>,
}

impl Accepting {
    /// Writes the message with the handoff's beginning and answers the listener; the
    /// attempt's number when the handoff was begun (`None`: a repeated message, or mappings
    /// changed meanwhile).
    pub(super) async fn write_with(
        self,
        store: &crate::store::Store,
        begin: &BeginAttempt<'_>,
    ) -> Result<Option<u32>, AppError> {
        let Self {
            message,
            mapping,
            versions,
            reply,
        } = self;
        match store
            .add_to_inbox_and_begin(message, mapping, versions, begin)
            .await
        {
            Ok(Some(done)) => {
                let begun = done.begun;
                let _ = reply.send(Ok(done));
                Ok(begun)
            }
            // The shared store does not combine them: nothing was written, and the listener
            // (its reply dropped) writes the message the usual way.
            Ok(None) => Ok(None),
            Err(e) => {
                let e = AppError::from(e);
                let _ = reply.send(Err(e.clone()));
                Err(e)
            }
        }
    }
}

/// A source's mappings (in the order they are tried) and the integrations they name, as a
/// process keeps them between messages: current while the store's
/// [`Store::mapping_versions`](crate::store::Store::mapping_versions) still reads `versions`.
pub(super) struct SourceMappings {
    versions: Vec<MappingVersion>,
    mappings: Vec<Mapping>,
    integrations: HashMap<IntegrationId, Arc<Integration>>,
}

/// A message's kept headers: sealed in its inbox record (opened when a mapping needs them), or
/// as the listener just took them.
enum KeptHeaders {
    Sealed,
    Open(Map<String, Value>),
}

/// The sealed headers' associated data: the message id and what they are.
pub(super) fn headers_aad(id: InboxId) -> String {
    format!("{id}/headers")
}

impl App {
    /// Makes an accepted message's handoff and runs its first attempt, unless it has one
    /// already or is not `received`. A webhook goes through its source's mappings: none takes
    /// it → `ignored`; it cannot be mapped → `failed` saying why; a `manual` mapping → `mapped`,
    /// waiting for release. A message the console cannot take now (a locked keyring, say)
    /// stays `received`, and the worker takes it up again.
    pub async fn process_inbox(&self, id: InboxId) -> Result<(), AppError> {
        let record = self.inbox_record(id).await?;
        if record.item.status != InboxStatus::Received {
            return Ok(());
        }
        self.take_message(&record, false).await
    }

    /// Maps a `received` message (or, with `release`, a held `mapped` one) and makes its
    /// handoff when its mapping says so now.
    async fn take_message(&self, record: &InboxRecord, release: bool) -> Result<(), AppError> {
        let Some(handoff_id) = record.handoff_id else {
            return Ok(());
        };
        if self.store.handoff(handoff_id).await?.is_some() {
            return Ok(());
        }
        let body = self.open_message(record).await?;
        self.make_handoff(
            record,
            handoff_id,
            &body,
            KeptHeaders::Sealed,
            None,
            release,
        )
        .await
    }

    /// Makes the handoff of a message the listener has just committed to the inbox, from what
    /// it has in hand: its record as written, its body, its kept headers and its source's mapping
    /// versions read in the same commit (nothing is read back or opened again). Its handoff id was chosen when it was accepted, so should a worker
    /// take the message up meanwhile, both make the same handoff and only one can record it.
    pub(super) async fn take_accepted(
        &self,
        record: InboxRecord,
        body: Vec<u8>,
        headers: Map<String, Value>,
        versions: Option<Vec<MappingVersion>>,
    ) -> Result<(), AppError> {
        let Some(handoff_id) = record.handoff_id else {
            return Ok(());
        };
        let headers = KeptHeaders::Open(headers);
        self.make_handoff(&record, handoff_id, &body, headers, versions, false)
            .await
    }

    /// Plans a message's handoff (as it names it, or through its source's mappings, whose
    /// `versions` may have been read already) and makes it when its mapping says so now.
    async fn make_handoff(
        &self,
        record: &InboxRecord,
        handoff_id: HandoffId,
        body: &[u8],
        headers: KeptHeaders,
        versions: Option<Vec<MappingVersion>>,
        release: bool,
    ) -> Result<(), AppError> {
        let item = &record.item;
        let planned = match item.endpoint {
            IntakeEndpoint::Handoff => match HandoffBody::read(body) {
                Ok(named) => self.plan_named(item, &named.session_id, named.data).await?,
                Err(e) => self.fail_message(item.id, e.message).await?,
            },
            IntakeEndpoint::Database => {
                match read::<SeedDatabaseBody>(body, "the seed's {dbConfig, data}") {
                    Ok(seed) => {
                        let session = item.session_id.clone().unwrap_or_default();
                        self.plan_named(item, &session, seed.data).await?
                    }
                    Err(e) => self.fail_message(item.id, e.message).await?,
                }
            }
            IntakeEndpoint::Webhook => match serde_json::from_slice::<Value>(body) {
                Ok(body) => {
                    self.plan_mapped(record, &body, headers, versions, release, false)
                        .await?
                }
                Err(_) => {
                    self.fail_message(item.id, "the body is not JSON".into())
                        .await?
                }
            },
            IntakeEndpoint::Push => match read::<SeedPushBody>(body, "{system, mapping, data}") {
                Ok(push) => {
                    self.plan_mapped(record, &push.data, headers, versions, release, true)
                        .await?
                }
                Err(e) => self.fail_message(item.id, e.message).await?,
            },
        };
        let Some(p) = planned else {
            return Ok(());
        };
        match self
            .send_new(
                &p.integration,
                handoff_id,
                &p.session_id,
                &p.data,
                p.encoded,
                MadeBy::Inbox(p.mapping.as_ref().map(|(mapping, name)| TakenBy {
                    message: record.item.id,
                    mapping: *mapping,
                    mapping_name: name,
                })),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Another process made it meanwhile.
            Err(_) if self.store.handoff(handoff_id).await?.is_some() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A message that names its integration (a voice platform's, the seed's database
    /// handoff): its session and data, for the integration chosen when it was accepted.
    async fn plan_named(
        &self,
        item: &InboxItem,
        session_id: &str,
        data: Value,
    ) -> Result<Option<Planned>, AppError> {
        let Some(integration_id) = item.integration_id else {
            return self
                .fail_message(item.id, "it names no integration".into())
                .await;
        };
        let Some(integration) = self.store.integration(integration_id).await? else {
            return self
                .fail_message(item.id, "its integration was removed".into())
                .await;
        };
        match check_send_input(session_id, &data) {
            Ok((session_id, encoded)) => Ok(Some(Planned {
                integration: Arc::new(integration),
                session_id: session_id.to_string(),
                data,
                encoded,
                mapping: None,
            })),
            Err(e) => self.fail_message(item.id, e.message).await,
        }
    }

    /// A webhook through its source's mappings; with `named`, through the mapping the message
    /// named (a push), whatever its event.
    async fn plan_mapped(
        &self,
        record: &InboxRecord,
        body: &Value,
        headers: KeptHeaders,
        versions: Option<Vec<MappingVersion>>,
        release: bool,
        named: bool,
    ) -> Result<Option<Planned>, AppError> {
        let item = &record.item;
        let headers = match headers {
            KeptHeaders::Sealed => self.open_headers(record).await?,
            KeptHeaders::Open(headers) => headers,
        };
        let kept = self.source_mappings(item.source_id, versions).await?;
        let mappings = &kept.mappings;
        let message_id = item
            .message_key
            .clone()
            .unwrap_or_else(|| item.id.to_string());
        let message = Message {
            body,
            headers: &headers,
            message_id: &message_id,
        };
        // A released message keeps the mapping that held it, while it exists; a push, the one
        // it named.
        let held = record
            .mapping_id
            .filter(|_| release || named)
            .and_then(|id| mappings.iter().find(|m| m.id == id));
        if named && held.is_none() {
            return self
                .fail_message(item.id, "the mapping it names was removed".into())
                .await;
        }
        let chosen = if named {
            held
        } else {
            held.or_else(|| mappings::choose(mappings, &message))
        };
        let Some(mapping) = chosen else {
            self.store
                .set_inbox_outcome(item.id, InboxOutcome::status(InboxStatus::Ignored))
                .await?;
            return Ok(None);
        };
        let planned = match map_with(&kept, mapping, &message) {
            Ok(planned) => planned,
            Err(why) => return self.fail_mapped(item.id, mapping, why).await,
        };
        if mapping.sync == SyncFrequency::Manual && !release {
            self.store
                .set_inbox_outcome(
                    item.id,
                    InboxOutcome {
                        status: InboxStatus::Mapped,
                        error: None,
                        mapping: Some((mapping.id, mapping.name.clone())),
                        integration_id: Some(planned.integration.id),
                        session_id: Some(planned.session_id),
                    },
                )
                .await?;
            return Ok(None);
        }
        Ok(Some(planned))
    }

    /// Maps a webhook as it is accepted and, when that can be done (see
    /// [`App::plan_on_acceptance`]), starts its handoff, whose first commit adds the message
    /// to the inbox too: the receiver gets that commit's outcome, or is dropped when nothing
    /// was written (the message then goes the usual way). `None`: not mapped now.
    pub(super) fn start_on_acceptance(
        self: &Arc<Self>,
        message: &NewInboxMessage,
        body: &[u8],
        headers: &Map<String, Value>,
    ) -> Option<tokio::sync::oneshot::Receiver<Result<InboxBegun, AppError>>> {
        let handoff_id = message.handoff_id?;
        let message_id = message
            .message_key
            .clone()
            .unwrap_or_else(|| message.id.to_string());
        let (planned, versions) =
            self.plan_on_acceptance(message.source_id, &message_id, body, headers)?;
        let mapping = planned.mapping.clone()?;
        let (reply, answered) = tokio::sync::oneshot::channel();
        let accepting = Accepting {
            message: message.clone(),
            mapping,
            versions,
            reply,
        };
        let app = Arc::clone(self);
        tokio::spawn(async move {
            let sent = app
                .send_new(
                    &planned.integration,
                    handoff_id,
                    &planned.session_id,
                    &planned.data,
                    planned.encoded,
                    MadeBy::Accepting(Box::new(accepting)),
                )
                .await;
            match sent {
                // Not begun: a repeated message, or its mappings changed and the listener
                // maps it again.
                Ok(_)
                | Err(AppError {
                    kind: ErrorKind::Conflict,
                    ..
                }) => {}
                Err(e) => tracing::warn!(handoff_id = %handoff_id, "a webhook's handoff: {e}"),
            }
        });
        Some(answered)
    }

    /// A webhook mapped as it is accepted, when that can be done from what this process keeps
    /// and a realtime mapping takes it whole: its handoff, and the mapping versions it was
    /// planned from (checked again in the commit that writes both). `None` for anything else
    /// (no mappings kept for the source yet, no mapping or a manual one, a body or data that
    /// fail): the message is then written alone and mapped after its answer, which records
    /// why.
    pub(super) fn plan_on_acceptance(
        &self,
        source: SourceId,
        message_id: &str,
        body: &[u8],
        headers: &Map<String, Value>,
    ) -> Option<(Planned, Vec<MappingVersion>)> {
        let kept = self.kept_mappings(source)?;
        let body: Value = serde_json::from_slice(body).ok()?;
        let message = Message {
            body: &body,
            headers,
            message_id,
        };
        let mapping = mappings::choose(&kept.mappings, &message)?;
        if mapping.sync != SyncFrequency::Realtime {
            return None;
        }
        let planned = map_with(&kept, mapping, &message).ok()?;
        Some((planned, kept.versions.clone()))
    }

    /// What this process keeps of `source`'s mappings, as last read (not checked against the
    /// store's versions).
    fn kept_mappings(&self, source: SourceId) -> Option<Arc<SourceMappings>> {
        self.intake
            .mappings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&source)
            .cloned()
    }

    /// `source`'s mappings and the integrations they name: the ones kept from an earlier
    /// message while their versions (`read` already, or read now: one small read) say none of
    /// them changed (in this process or another), else read again and kept.
    async fn source_mappings(
        &self,
        source: SourceId,
        read: Option<Vec<MappingVersion>>,
    ) -> Result<Arc<SourceMappings>, AppError> {
        let versions = match read {
            Some(versions) => versions,
            None => self.store.mapping_versions(source).await?,
        };
        if let Some(kept) = self.kept_mappings(source)
            && kept.versions == versions
        {
            return Ok(kept);
        }
        // Read after the versions: a change in between makes the next message read them again,
        // never keeps an old read under a new version.
        let mappings = self.store.mappings(Some(source)).await?;
        let mut integrations = HashMap::new();
        for m in &mappings {
            if !integrations.contains_key(&m.integration_id)
                && let Some(i) = self.store.integration(m.integration_id).await?
            {
                integrations.insert(m.integration_id, Arc::new(i));
            }
        }
        let fresh = Arc::new(SourceMappings {
            versions,
            mappings,
            integrations,
        });
        self.intake
            .mappings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(source, Arc::clone(&fresh));
        Ok(fresh)
    }

    async fn fail_message(&self, id: InboxId, why: String) -> Result<Option<Planned>, AppError> {
        tracing::warn!(inbox = %id, "the message could not become a handoff: {why}");
        let mut outcome = InboxOutcome::status(InboxStatus::Failed);
        outcome.error = Some(why);
        self.store.set_inbox_outcome(id, outcome).await?;
        Ok(None)
    }

    async fn fail_mapped(
        &self,
        id: InboxId,
        mapping: &Mapping,
        why: String,
    ) -> Result<Option<Planned>, AppError> {
        tracing::warn!(inbox = %id, mapping = %mapping.name, "the message could not be mapped: {why}");
        self.store
            .set_inbox_outcome(
                id,
                InboxOutcome {
                    status: InboxStatus::Failed,
                    error: Some(format!("mapping '{}': {why}", mapping.name)),
                    mapping: Some((mapping.id, mapping.name.clone())),
                    integration_id: Some(mapping.integration_id),
                    session_id: None,
                },
            )
            .await?;
        Ok(None)
    }

    /// Takes up the messages a stopped process accepted but did not make into handoffs.
    /// Each is leased to this console first, so consoles on a shared store take up different
    /// ones; one whose console dies is free again once its lease runs out.
    pub async fn resume_intake(&self) -> Result<usize, AppError> {
        let before = now_ms() - RESUME_AFTER.as_millis() as i64;
        let mut done = 0;
        let mut seen = std::collections::HashSet::new();
        // Until none is left that nobody holds (one this console could not take stays leased
        // to it for a while), or only ones it already tried in this call come back.
        loop {
            let until = now_ms() + RESUME_LEASE.as_millis() as i64;
            let ids = self
                .store
                .lease_unfinished_inbox(&self.worker_name, before, until, RESUME_BATCH)
                .await?;
            let fresh: Vec<InboxId> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
            if fresh.is_empty() {
                return Ok(done);
            }
            for id in fresh {
                match self.process_inbox(id).await {
                    Ok(()) => done += 1,
                    Err(e) => {
                        tracing::warn!(inbox = %id, "could not take the message up again: {e}")
                    }
                }
            }
        }
    }

    // --- reading ---

    /// Inbox messages matching `q`, newest first.
    pub async fn inbox(&self, q: &InboxQuery) -> Result<InboxPage, AppError> {
        let limit = q.limit.unwrap_or(DEFAULT_INBOX_LIMIT);
        if !(1..=MAX_INBOX_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be 1 to {MAX_INBOX_LIMIT}"),
            ));
        }
        let source_id = match q.source.as_deref() {
            Some(s) => Some(self.source_id_for_filter(s).await?),
            None => None,
        };
        let (items, total) = self
            .store
            .inbox(&InboxFilter {
                status: q.status,
                source_id,
                search: q.search.clone(),
                limit,
                offset: q.offset.unwrap_or(0),
            })
            .await?;
        Ok(InboxPage { items, total })
    }

    /// One message, its body masked: the values its mapping reads shown masked by their
    /// field's type, the rest hidden.
    pub async fn inbox_view(&self, id: InboxId) -> Result<InboxView, AppError> {
        let record = self.inbox_record(id).await?;
        let body = self.open_message(&record).await?;
        let headers = self.open_headers(&record).await?;
        let masked_body = match serde_json::from_slice::<Value>(&body) {
            Ok(body) => Some(self.mask_message(&record, &body, &headers).await?),
            Err(_) => None,
        };
        Ok(InboxView {
            item: record.item,
            masked_body,
            header_names: headers.keys().cloned().collect(),
        })
    }

    /// The masked body: read through the mapping that took the message (or would take it
    /// now); a voice platform's message through its integration's fields.
    async fn mask_message(
        &self,
        record: &InboxRecord,
        body: &Value,
        headers: &Map<String, Value>,
    ) -> Result<Value, AppError> {
        let item = &record.item;
        if item.endpoint == IntakeEndpoint::Handoff {
            let fields = match item.integration_id {
                Some(id) => self
                    .store
                    .integration(id)
                    .await?
                    .map(|i| i.config.fields)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            let pointers: Vec<(String, String)> = body
                .get("data")
                .and_then(Value::as_object)
                .map(|d| {
                    d.keys()
                        .map(|k| {
                            (
                                k.clone(),
                                format!("/data/{}", k.replace('~', "~0").replace('/', "~1")),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let pairs: Vec<(&str, &str)> = pointers
                .iter()
                .map(|(f, p)| (f.as_str(), p.as_str()))
                .collect();
            let mut masked = mappings::masked_body(body, &pairs, &fields);
            // The route's own words are not collected data.
            for key in ["integration", "sessionId"] {
                if let (Some(v), Some(slot)) = (body.get(key), masked.get_mut(key)) {
                    *slot = v.clone();
                }
            }
            return Ok(masked);
        }
        let mappings = self.store.mappings(Some(item.source_id)).await?;
        let message_id = item
            .message_key
            .clone()
            .unwrap_or_else(|| item.id.to_string());
        let message = Message {
            body,
            headers,
            message_id: &message_id,
        };
        let mapping = record
            .mapping_id
            .and_then(|id| mappings.iter().find(|m| m.id == id))
            .or_else(|| mappings::choose(&mappings, &message));
        let Some(mapping) = mapping else {
            return Ok(mappings::masked_body(body, &[], &[]));
        };
        let fields = self
            .store
            .integration(mapping.integration_id)
            .await?
            .map(|i| i.config.fields)
            .unwrap_or_default();
        Ok(mappings::masked_body(body, &mapping.pointers(), &fields))
    }

    /// A message's body and headers as received, for a person who asked to see them; recorded
    /// in the audit trail first.
    pub async fn reveal_inbox(&self, id: InboxId) -> Result<InboxRevealed, AppError> {
        let record = self.inbox_record(id).await?;
        let body = self.open_message(&record).await?;
        let headers = self.open_headers(&record).await?;
        self.store
            .record_audit(&self.audit_event(
                AuditAction::InboxRevealed,
                AuditObject::source(record.item.source_id, &record.item.source_name),
                json!({ "messageId": id, "bytes": body.len() }),
                &[],
            ))
            .await?;
        Ok(InboxRevealed {
            id,
            body: String::from_utf8_lossy(&body).into_owned(),
            headers,
        })
    }

    // --- what a person does ---

    /// Makes the handoff of a message a `manual` mapping holds, and delivers it.
    pub async fn release_inbox(&self, id: InboxId) -> Result<InboxItem, AppError> {
        let record = self.inbox_record(id).await?;
        if record.item.status != InboxStatus::Mapped || self.has_handoff(&record).await? {
            return Err(AppError::new(
                ErrorKind::Conflict,
                format!(
                    "message {id} is {}: only a message a manual mapping holds (mapped, no \
                     handoff yet) can be released",
                    record.item.status.as_str()
                ),
            ));
        }
        self.audit_inbox(AuditAction::InboxReleased, &record.item)
            .await?;
        self.take_message(&record, true).await?;
        Ok(self.inbox_record(id).await?.item)
    }

    /// Maps a message again with the mappings as they are now: one that was ignored, failed,
    /// or is held; or one whose handoff failed for good, which then gets a new handoff.
    pub async fn reprocess_inbox(&self, id: InboxId) -> Result<InboxItem, AppError> {
        let record = self.inbox_record(id).await?;
        let existing = match record.handoff_id {
            Some(h) => self.store.handoff(h).await?,
            None => None,
        };
        if let Some(h) = existing {
            if h.summary.status != crate::attempts::Status::Failed
                || h.origin == HandoffOrigin::Test
            {
                return Err(AppError::new(
                    ErrorKind::Conflict,
                    format!(
                        "message {id} became handoff {}, which is {}: only a message whose \
                         handoff failed for good, or that has none, can be reprocessed",
                        h.summary.handoff_id,
                        h.summary.status.as_str()
                    ),
                ));
            }
            let renewed = self
                .store
                .renew_inbox_handoff(id, h.summary.handoff_id, HandoffId::new())
                .await?;
            if !renewed {
                return Err(AppError::new(
                    ErrorKind::Conflict,
                    format!("message {id} changed meanwhile: look at it again"),
                ));
            }
        } else {
            let reset = self
                .store
                .set_inbox_outcome(id, InboxOutcome::status(InboxStatus::Received))
                .await?;
            if !reset {
                return Err(AppError::new(
                    ErrorKind::Conflict,
                    format!("message {id} became a handoff meanwhile"),
                ));
            }
        }
        self.audit_inbox(AuditAction::InboxReprocessed, &record.item)
            .await?;
        self.process_inbox(id).await?;
        Ok(self.inbox_record(id).await?.item)
    }

    /// Marks a message without a handoff as ignored: nothing will be made of it.
    pub async fn ignore_inbox(&self, id: InboxId) -> Result<InboxItem, AppError> {
        let record = self.inbox_record(id).await?;
        if self.has_handoff(&record).await?
            || !self
                .store
                .set_inbox_outcome(id, InboxOutcome::status(InboxStatus::Ignored))
                .await?
        {
            return Err(AppError::new(
                ErrorKind::Conflict,
                format!("message {id} became a handoff: retry or leave that instead"),
            ));
        }
        self.audit_inbox(AuditAction::InboxIgnored, &record.item)
            .await?;
        Ok(self.inbox_record(id).await?.item)
    }

    async fn audit_inbox(&self, action: AuditAction, item: &InboxItem) -> Result<(), AppError> {
        self.store
            .record_audit(&self.audit_event(
                action,
                AuditObject::source(item.source_id, &item.source_name),
                json!({ "messageId": item.id, "status": item.status }),
                &[],
            ))
            .await?;
        Ok(())
    }

    async fn has_handoff(&self, record: &InboxRecord) -> Result<bool, AppError> {
        Ok(match record.handoff_id {
            Some(h) => self.store.handoff(h).await?.is_some(),
            None => false,
        })
    }

    async fn inbox_record(&self, id: InboxId) -> Result<InboxRecord, AppError> {
        self.store
            .inbox_record(id)
            .await?
            .ok_or_else(|| AppError::not_found("inbox message", &id.to_string()))
    }

    async fn open_message(&self, record: &InboxRecord) -> Result<Vec<u8>, AppError> {
        let id = record.item.id;
        self.open_sealed(&record.sealed_body, &id.to_string())
            .await
            .map_err(|e| tampered(e, id))
    }

    async fn open_headers(&self, record: &InboxRecord) -> Result<Map<String, Value>, AppError> {
        let Some(sealed) = &record.sealed_headers else {
            return Ok(Map::new());
        };
        let id = record.item.id;
        let text = self
            .open_sealed(sealed, &headers_aad(id))
            .await
            .map_err(|e| tampered(e, id))?;
        serde_json::from_slice(&text).map_err(AppError::internal)
    }

    /// A source named in an inbox filter: a removed source's messages are still found by its
    /// id or by the name they were received under.
    async fn source_id_for_filter(&self, s: &str) -> Result<SourceId, AppError> {
        if let Some(found) = self.store.find_source(s).await? {
            return Ok(found.id);
        }
        if let Ok(id) = s.parse::<SourceId>() {
            return Ok(id);
        }
        self.store
            .inbox_source_named(s)
            .await?
            .ok_or_else(|| AppError::invalid("source", format!("there is no source '{s}'")))
    }
}

fn tampered(e: Opened, id: InboxId) -> AppError {
    match e {
        Opened::Tampered => AppError::new(
            ErrorKind::Internal,
            format!("inbox message {id} fails authentication: it was changed or damaged"),
        ),
        Opened::Other(e) => e,
    }
}

/// Problems in one line for the inbox (fields and reasons, never values).
fn describe(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
