//! `mapping add|list|show|update|remove|try`: which messages of a source become handoffs, and
//! how. A mapping is a JSON file (the UI's `MappingRequest`); the service checks it against its
//! integration's fields.

use super::output::{Output, print_json, printable, say};
use super::read_input;
use crate::error::AppError;
use crate::intake::mappings::Mapping;
use crate::service::{App, MappingPreview, MappingRequest, MappingTry, MappingsQuery};
use clap::Subcommand;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub(super) enum MappingCommand {
    /// Add a mapping from a JSON file, or from a preset (`mapping presets` lists them) for a
    /// source and an integration.
    Add {
        #[arg(
            long,
            value_name = "MAPPING.json|-",
            required_unless_present = "preset"
        )]
        file: Option<String>,
        #[arg(long, value_name = "ID", conflicts_with = "file", requires_all = ["source", "integration"])]
        preset: Option<String>,
        /// The source (id or name), with --preset.
        #[arg(long, value_name = "ID|NAME")]
        source: Option<String>,
        /// The integration (id or name), with --preset.
        #[arg(long, value_name = "ID|NAME")]
        integration: Option<String>,
    },
    /// The presets: sample events and ready mappings of EHR-style bridges and a voice platform.
    Presets,
    /// List mappings (of one source).
    List {
        #[arg(long, value_name = "ID|NAME")]
        source: Option<String>,
    },
    /// Show a mapping.
    Show { id: String },
    /// Replace a mapping's settings with a JSON file's.
    Update {
        id: String,
        #[arg(long, value_name = "MAPPING.json|-")]
        file: String,
    },
    /// Remove a mapping.
    Remove { id: String },
    /// What a sample body would become through a mapping (or through a source's mappings, with
    /// --source); nothing is sent or stored. Exits 1 when it would not make a handoff.
    Try {
        /// A saved mapping's id or name.
        id: Option<String>,
        /// Try the source's mappings as a message would be taken.
        #[arg(long, value_name = "ID|NAME", conflicts_with = "id")]
        source: Option<String>,
        /// The sample body (JSON).
        #[arg(long, value_name = "BODY.json|-")]
        body: String,
    },
}

fn read_mapping(path: &str) -> Result<MappingRequest, AppError> {
    let text = read_input(path, "--file")?;
    serde_json::from_str(&text).map_err(|e| {
        AppError::invalid(
            "--file",
            format!("not a mapping ({e}); docs/intake.md, \"Mappings\", shows one"),
        )
    })
}

/// A preset's mapping for `source` and `integration`.
fn from_preset(id: &str, source: String, integration: String) -> Result<MappingRequest, AppError> {
    let (_, preset) = crate::intake::presets::preset(id).ok_or_else(|| {
        AppError::invalid(
            "--preset",
            format!("there is no preset '{id}' (`mapping presets` lists them)"),
        )
    })?;
    let m = preset.mapping.clone();
    Ok(MappingRequest {
        source,
        name: m.name,
        event: m.event,
        integration,
        fields: m.fields,
        session: m.session,
        sync: m.sync,
        enabled: None,
    })
}

pub(super) async fn run(app: &App, cmd: MappingCommand, out: &Output) -> Result<u8, AppError> {
    match cmd {
        MappingCommand::Add {
            file,
            preset,
            source,
            integration,
        } => {
            let request = match (file, preset) {
                (Some(file), _) => read_mapping(&file)?,
                (None, Some(id)) => from_preset(
                    &id,
                    source.unwrap_or_default(),
                    integration.unwrap_or_default(),
                )?,
                (None, None) => return Err(AppError::invalid("--file", "give --file or --preset")),
            };
            out.mapping(&app.add_mapping(request).await?)
        }
        MappingCommand::Presets => out.presets(crate::intake::presets::presets()),
        MappingCommand::List { source } => {
            out.mappings(&app.mappings(&MappingsQuery { source }).await?)
        }
        MappingCommand::Show { id } => out.mapping(&app.mapping(&id).await?),
        MappingCommand::Update { id, file } => {
            out.mapping(&app.update_mapping(&id, read_mapping(&file)?).await?)
        }
        MappingCommand::Remove { id } => {
            let removed = app.remove_mapping(&id).await?;
            out.done(&format!("mapping {} removed", removed.name));
        }
        MappingCommand::Try { id, source, body } => {
            let text = read_input(&body, "--body")?;
            let body: Value = serde_json::from_str(&text)
                .map_err(|e| AppError::invalid("--body", format!("not valid JSON: {e}")))?;
            if id.is_none() && source.is_none() {
                return Err(AppError::invalid(
                    "ID",
                    "name the mapping to try, or --source to try a source's mappings",
                ));
            }
            let preview = app
                .try_mapping(MappingTry {
                    id,
                    mapping: None,
                    source,
                    body,
                    headers: Default::default(),
                })
                .await?;
            out.preview(&preview);
            let makes_handoff = preview.matched && preview.problems.is_empty();
            return Ok(if makes_handoff { 0 } else { super::EXIT_FAILED });
        }
    }
    Ok(0)
}

impl Output {
    fn presets(&self, systems: &[crate::intake::presets::PresetSystem]) {
        if self.is_json() {
            return print_json(&systems);
        }
        for s in systems {
            say!(
                "{} — {} source, {}",
                s.title,
                s.kind.as_str(),
                s.verification.mode()
            );
            for e in &s.events {
                say!("  {:<36}  {}", e.id, e.title);
            }
        }
    }

    fn mappings(&self, list: &[Mapping]) {
        if self.is_json() {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!("no mappings (add one with `mapping add --file`)");
        }
        say!(
            "{:<36}  {:<24}  {:<28}  {:<8}  STATE",
            "ID",
            "NAME",
            "EVENT",
            "SYNC"
        );
        for m in list {
            let event = m
                .event
                .as_ref()
                .map(|e| e.equals.clone())
                .unwrap_or_else(|| "(any)".into());
            let line = format!(
                "{:<36}  {:<24}  {:<28}  {:<8}  {}",
                m.id,
                printable(&m.name).chars().take(24).collect::<String>(),
                printable(&event).chars().take(28).collect::<String>(),
                m.sync.as_str(),
                if m.enabled { "enabled" } else { "disabled" },
            );
            say!("{}", line.trim_end());
        }
    }

    fn mapping(&self, m: &Mapping) {
        if self.is_json() {
            return print_json(m);
        }
        say!("{} ({})", printable(&m.name), m.id);
        say!("  source:       {}", m.source_id);
        say!("  integration:  {}", m.integration_id);
        match &m.event {
            Some(e) => say!(
                "  event:        {} = {}",
                e.pointer
                    .as_deref()
                    .map(|p| format!("body {p}"))
                    .or_else(|| e.header.as_deref().map(|h| format!("header {h}")))
                    .unwrap_or_default(),
                printable(&e.equals)
            ),
            None => say!("  event:        (any message no other mapping takes)"),
        }
        say!("  sync:         {}", m.sync.as_str());
        say!(
            "  state:        {}",
            if m.enabled { "enabled" } else { "disabled" }
        );
        for f in &m.fields {
            let from = serde_json::to_string(&f.value).unwrap_or_default();
            let transforms = if f.transforms.is_empty() {
                String::new()
            } else {
                format!(
                    " then {}",
                    serde_json::to_string(&f.transforms).unwrap_or_default()
                )
            };
            say!(
                "  {:<14}← {}{}",
                f.field,
                printable(&from),
                printable(&transforms)
            );
        }
    }

    fn preview(&self, p: &MappingPreview) {
        if self.is_json() {
            return print_json(p);
        }
        if !p.matched {
            say!(
                "no mapping takes this message{}",
                p.mapping
                    .as_deref()
                    .map(|m| format!(
                        " ('{m}' does not match its event; what its fields make is below)"
                    ))
                    .unwrap_or_default()
            );
        }
        if let Some(m) = &p.mapping {
            say!(
                "mapping {} → {} ({})",
                printable(m),
                printable(p.integration.as_deref().unwrap_or("?")),
                p.sync.map(|s| s.as_str()).unwrap_or("?")
            );
        }
        if let Some(s) = &p.session_id {
            say!("session: {}", printable(s));
        }
        if let Some(data) = &p.data {
            let text = serde_json::to_string_pretty(data).unwrap_or_default();
            say!("data:");
            for line in text.lines() {
                say!("  {}", printable(line));
            }
        }
        for problem in &p.problems {
            say!("problem: {}", printable(&problem.to_string()));
        }
    }
}
