//! `inbox [--status S] [--source S]` and `inbox show|reveal|release|reprocess|ignore ID`: the
//! messages sources pushed in, newest first, and what a person does with one. The flags fill
//! the UI's `InboxQuery`.

use super::flag_names;
use super::output::{Output, local, print_json, printable, say};
use crate::error::AppError;
use crate::intake::inbox::{InboxItem, InboxStatus};
use crate::service::{App, InboxPage, InboxQuery, InboxView};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct InboxArgs {
    #[command(subcommand)]
    command: Option<InboxCommand>,
    #[command(flatten)]
    list: InboxListArgs,
}

#[derive(Debug, Args)]
struct InboxListArgs {
    #[arg(long, value_enum)]
    status: Option<InboxStatus>,
    /// A source's id or name.
    #[arg(long, value_name = "ID|NAME")]
    source: Option<String>,
    /// A message, session or handoff id, or its start.
    #[arg(long)]
    search: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[arg(long, default_value_t = 0)]
    offset: u32,
}

#[derive(Debug, Subcommand)]
enum InboxCommand {
    /// One message: where it came from, what became of it, its body masked.
    Show { id: String },
    /// One message's body and headers as received (recorded in the audit trail).
    Reveal { id: String },
    /// Make the handoff of a message a manual mapping holds, and deliver it.
    Release { id: String },
    /// Map a message again with the mappings as they are now.
    Reprocess { id: String },
    /// Mark a message without a handoff as ignored.
    Ignore { id: String },
}

fn message_id(id: &str) -> Result<crate::ids::InboxId, AppError> {
    id.parse()
        .map_err(|_| AppError::invalid("ID", format!("'{id}' is not a message id")))
}

pub(super) async fn run(app: &App, args: InboxArgs, out: &Output) -> Result<u8, AppError> {
    match args.command {
        Some(InboxCommand::Show { id }) => out.inbox_view(&app.inbox_view(message_id(&id)?).await?),
        Some(InboxCommand::Reveal { id }) => {
            let revealed = app.reveal_inbox(message_id(&id)?).await?;
            if out.is_json() {
                print_json(&revealed);
            } else {
                for (k, v) in &revealed.headers {
                    say!("{k}: {}", printable(v.as_str().unwrap_or_default()));
                }
                say!("");
                say!("{}", printable(&revealed.body));
            }
        }
        Some(InboxCommand::Release { id }) => {
            out.inbox_item(&app.release_inbox(message_id(&id)?).await?)
        }
        Some(InboxCommand::Reprocess { id }) => {
            out.inbox_item(&app.reprocess_inbox(message_id(&id)?).await?)
        }
        Some(InboxCommand::Ignore { id }) => {
            out.inbox_item(&app.ignore_inbox(message_id(&id)?).await?)
        }
        None => {
            let l = args.list;
            let query = InboxQuery {
                status: l.status,
                source: l.source,
                search: l.search,
                limit: Some(l.limit),
                offset: Some(l.offset),
            };
            let page = app
                .inbox(&query)
                .await
                .map_err(flag_names(&["limit", "source"]))?;
            out.inbox(&page);
        }
    }
    Ok(0)
}

impl Output {
    fn inbox(&self, page: &InboxPage) {
        if self.is_json() {
            return print_json(page);
        }
        if page.items.is_empty() {
            return say!("no messages match");
        }
        say!(
            "{:<36}  {:<19}  {:<20}  {:<9}  HANDOFF",
            "ID",
            "RECEIVED",
            "SOURCE",
            "STATUS"
        );
        for m in &page.items {
            let line = format!(
                "{:<36}  {:<19}  {:<20}  {:<9}  {}",
                m.id,
                local(m.received_at),
                m.source_name.chars().take(20).collect::<String>(),
                m.status.as_str(),
                m.handoff_id.map(|h| h.to_string()).unwrap_or_default(),
            );
            say!("{}", line.trim_end());
        }
        if page.total > page.items.len() as u64 {
            say!("{} of {} messages", page.items.len(), page.total);
        }
    }

    fn inbox_view(&self, v: &InboxView) {
        if self.is_json() {
            return print_json(v);
        }
        self.inbox_item(&v.item);
        if !v.header_names.is_empty() {
            say!("  headers:      {}", v.header_names.join(", "));
        }
        match &v.masked_body {
            Some(body) => {
                say!("  body (masked; `inbox reveal` shows it, audited):");
                let text = serde_json::to_string_pretty(body).unwrap_or_default();
                for line in text.lines() {
                    say!("    {}", printable(line));
                }
            }
            None => say!("  body:         not JSON"),
        }
    }

    fn inbox_item(&self, m: &InboxItem) {
        if self.is_json() {
            return print_json(m);
        }
        say!("message {}", m.id);
        say!("  received:     {}", local(m.received_at));
        say!("  source:       {} ({})", m.source_name, m.source_id);
        say!("  route:        {}", m.endpoint.as_str());
        say!("  status:       {}", m.status.as_str());
        if let Some(key) = &m.message_key {
            say!("  message id:   {}", printable(key));
        }
        say!("  body:         {} bytes (sealed)", m.body_bytes);
        if let Some(h) = m.handoff_id {
            say!("  handoff:      {h}");
        }
        if let Some(name) = m.integration_name.as_ref() {
            say!("  integration:  {name}");
        } else if let Some(i) = m.integration_id {
            say!("  integration:  {i}");
        }
        if let Some(s) = &m.session_id {
            say!("  session:      {}", printable(s));
        }
        if let Some(name) = &m.mapping_name {
            say!("  mapping:      {}", printable(name));
        }
        if let Some(e) = &m.error {
            say!("  error:        {}", printable(e));
        }
    }
}
