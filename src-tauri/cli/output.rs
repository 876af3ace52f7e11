//! What the CLI prints: one JSON document with `--json`, otherwise short human-readable text.
//! Times are shown in the local zone.

use crate::attempts::{AttemptDetail, AttemptSummary, HandoffRow};
use crate::audit::AuditEvent;
use crate::error::AppError;
use crate::export::ExportSummary;
use crate::health::{Check, DeliverySummary, HealthReport, HealthStatus, LastHealth, LocalCheck};
use crate::integrations::{Integration, TargetKind};
use crate::service::{BulkRetry, HandoffResult, SecretsReport, WorkerPass};
use crate::stats::Stats;
use crate::testing::{TestMode, TestReport};
use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use serde_json::json;

/// `println!` for human output: text that came from a target (messages, headers, bodies, column
/// names) may hold control characters, which are shown escaped instead of reaching the
/// terminal. (`--json` output is escaped by serde.)
macro_rules! say {
    ($($arg:tt)*) => {
        std::println!("{}", printable(&format!($($arg)*)))
    };
}

pub struct Output {
    json: bool,
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Text from a target with control characters (other than newlines and tabs) shown as `\u{..}`
/// escapes, so a response cannot move the cursor or recolour the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => std::println!("{text}"),
        Err(e) => std::println!(
            "{}",
            json!({"error": {"kind": "internal", "message": e.to_string()}})
        ),
    }
}

fn target_of(i: &Integration) -> String {
    match (&i.config.api, &i.config.database) {
        (Some(api), _) => format!("{} {}", api.method.as_str(), api.endpoint),
        (None, Some(db)) => match &db.hostname {
            Some(h) => format!("{}://{h}/{}#{}", db.db_type.as_str(), db.database, db.table),
            None => format!("{}:{}#{}", db.db_type.as_str(), db.database, db.table),
        },
        (None, None) => String::new(),
    }
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    pub fn error(&self, e: &AppError) {
        if self.json {
            print_json(&json!({ "error": e }));
        } else {
            eprintln!("error: {}", printable(&e.to_string()));
        }
    }

    pub fn done(&self, message: &str) {
        if self.json {
            print_json(&json!({ "ok": true, "message": message }));
        } else {
            say!("{message}");
        }
    }

    /// The token alone (plain), so that `$(handoff-console token)` works.
    pub fn token(&self, token: &str) {
        if self.json {
            return print_json(&json!({ "token": token }));
        }
        println!("{token}");
    }

    /// Where `serve` listens: the sign-in URL (token in the fragment) on stdout.
    pub fn serving(&self, url: &str, addr: std::net::SocketAddr) {
        if self.json {
            return print_json(&json!({ "url": url, "address": addr.to_string() }));
        }
        println!("{url}");
        eprintln!("serving the console on http://{addr} (Ctrl-C stops); open the URL above");
    }

    pub fn id(&self, i: &Integration) {
        if self.json {
            print_json(&json!({ "id": i.id, "name": i.name }));
        } else {
            say!("{}", i.id);
        }
    }

    pub fn secrets_status(&self, r: &SecretsReport) {
        if self.json {
            return print_json(r);
        }
        let chosen_by = match r.chosen_by {
            crate::secrets::ChosenBy::Flag => "--secrets",
            crate::secrets::ChosenBy::Env => crate::secrets::SECRETS_ENV,
            crate::secrets::ChosenBy::Setting => "the data dir's setting",
            crate::secrets::ChosenBy::Default => "default",
            crate::secrets::ChosenBy::Caller => "the embedding program",
        };
        let state = if r.status.available {
            "available"
        } else {
            "NOT AVAILABLE"
        };
        say!("secrets: {} ({chosen_by}), {state}", r.backend);
        if let Some(path) = &r.status.path {
            say!("  file: {}", path.display());
        }
        say!("  {}", r.status.detail);
    }

    pub fn integration(&self, i: &Integration) {
        // The config is printed as stored: secrets are already the mask.
        print_json(i);
    }

    pub fn integrations(&self, list: &[Integration]) {
        if self.json {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!(
                "no integrations (add one with `integration add --file CFG.json`, or try `demo`)"
            );
        }
        say!("{:<36}  {:<8}  {:<28}  TARGET", "ID", "KIND", "NAME");
        for i in list {
            let kind = match i.kind {
                TargetKind::Api => "api",
                TargetKind::Database => "database",
            };
            say!(
                "{:<36}  {:<8}  {:<28}  {}",
                i.id,
                kind,
                i.name,
                target_of(i)
            );
        }
    }

    /// `integration list`: the table with each one's last delivery and its failed deliveries
    /// over the summaries' window (24 h). `--json` prints the integrations alone.
    pub fn integration_list(&self, list: &[Integration], summaries: &[DeliverySummary]) {
        if self.json || list.is_empty() {
            return self.integrations(list);
        }
        say!(
            "{:<36}  {:<8}  {:<28}  {:<29}  {:<13}  TARGET",
            "ID",
            "KIND",
            "NAME",
            "LAST DELIVERY",
            "FAILED (24H)"
        );
        for i in list {
            let summary = summaries.iter().find(|s| s.integration_id == i.id);
            let last = summary
                .and_then(|s| s.last_delivery.as_ref())
                .map_or("-".to_string(), |d| {
                    format!("{} {}", local(d.at), d.status.as_str())
                });
            let failed = summary
                .map(|s| &s.window)
                .filter(|w| w.deliveries > 0)
                .map_or("-".to_string(), |w| {
                    let rate = w.failure_rate.unwrap_or(0.0) * 100.0;
                    format!("{}/{} ({rate:.0}%)", w.failed, w.deliveries)
                });
            let line = format!(
                "{:<36}  {:<8}  {:<28}  {last:<29}  {failed:<13}  {}",
                i.id,
                i.kind.as_str(),
                i.name,
                target_of(i)
            );
            say!("{}", line.trim_end());
        }
    }

    pub fn handoff(&self, r: &HandoffResult) {
        if self.json {
            return print_json(r);
        }
        if r.success {
            say!("delivered: {} ({} ms)", r.message, r.duration_ms);
        } else {
            let category = r.category.map(|c| c.as_str()).unwrap_or("unknown");
            let retry = if r.retryable {
                "retryable"
            } else {
                "not retryable"
            };
            say!(
                "failed [{category}, {retry}]: {} ({} ms)",
                r.message,
                r.duration_ms
            );
            if let Some(at) = r.next_retry_at {
                say!("automatic retry scheduled for {}", local(at));
            }
        }
        say!(
            "attempt {} (#{}), handoff {}",
            r.attempt_id,
            r.attempt_number,
            r.handoff_id
        );
        if let Some(e) = &r.record_error {
            say!("not recorded: {}", e.message);
        }
    }

    pub fn history(&self, list: &[AttemptSummary]) {
        if self.json {
            let rows: Vec<_> = list
                .iter()
                .map(|a| {
                    json!({
                        "attemptId": a.attempt_id, "handoffId": a.handoff_id, "integrationId": a.integration_id,
                        "integrationName": a.integration_name, "sessionId": a.session_id, "trigger": a.trigger,
                        "automatic": a.automatic, "attemptNumber": a.attempt_number, "status": a.status,
                        "category": a.category, "retryable": a.retryable, "statusCode": a.status_code,
                        "startedAt": a.started_at, "durationMs": a.duration_ms, "message": a.message,
                        "nextRetryAt": a.next_retry_at,
                    })
                })
                .collect();
            return print_json(&rows);
        }
        if list.is_empty() {
            return say!("no attempts match");
        }
        say!(
            "{:<19}  {:<9}  {:<14}  {:<7}  {:>6}  {:<24}  {:<36}  MESSAGE",
            "STARTED",
            "STATUS",
            "CATEGORY",
            "TRIGGER",
            "MS",
            "INTEGRATION",
            "ATTEMPT"
        );
        for a in list {
            say!(
                "{:<19}  {:<9}  {:<14}  {:<7}  {:>6}  {:<24}  {:<36}  {}",
                local(a.started_at),
                a.status.as_str(),
                a.category.map(|c| c.as_str()).unwrap_or("-"),
                a.trigger.as_str(),
                a.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                a.integration_name.chars().take(24).collect::<String>(),
                a.attempt_id,
                a.message.chars().take(100).collect::<String>(),
            );
        }
    }

    pub fn handoffs(&self, list: &[HandoffRow]) {
        if self.json {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!("no handoffs match");
        }
        say!(
            "{:<19}  {:<11}  {:>5}  {:<14}  {:>4}  {:<24}  {:<24}  {:<36}  LAST MESSAGE",
            "UPDATED",
            "STATUS",
            "TRIES",
            "LAST CATEGORY",
            "CODE",
            "INTEGRATION",
            "SESSION",
            "HANDOFF"
        );
        for h in list {
            let line = format!(
                "{:<19}  {:<11}  {:>5}  {:<14}  {:>4}  {:<24}  {:<24}  {:<36}  {}",
                local(h.updated_at),
                h.status.as_str(),
                h.attempts,
                h.last_category.map(|c| c.as_str()).unwrap_or("-"),
                h.last_status_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
                h.integration_name.chars().take(24).collect::<String>(),
                h.session_id.chars().take(24).collect::<String>(),
                h.handoff_id,
                h.last_message.chars().take(100).collect::<String>(),
            );
            say!("{}", line.trim_end());
            if let Some(at) = h.next_retry_at {
                say!("{:<19}  next retry {}", "", local(at));
            }
        }
    }

    pub fn attempt(&self, detail: &AttemptDetail, chain: &[AttemptSummary]) {
        print_json(&json!({ "attempt": detail, "retryChain": chain }));
    }

    pub fn bulk(&self, b: &BulkRetry) {
        if self.json {
            return print_json(b);
        }
        let delivered_since = || {
            if b.already_delivered > 0 {
                say!(
                    "skipped {} failed attempt(s) whose handoff was delivered since",
                    b.already_delivered
                );
            }
        };
        if b.dry_run {
            say!(
                "{} failed handoff(s) match; nothing was re-sent (--dry-run)",
                b.matched
            );
            return delivered_since();
        }
        let ok = b.results.iter().filter(|r| r.success).count();
        say!(
            "{} matched: {ok} delivered, {} failed again, {} skipped",
            b.matched,
            b.results.len() - ok,
            b.skipped.len()
        );
        delivered_since();
        for r in b.results.iter().filter(|r| !r.success) {
            say!("  {}  {}", r.handoff_id, r.message);
        }
        for r in b.results.iter() {
            if let Some(e) = &r.record_error {
                say!("  {}  not recorded: {}", r.handoff_id, e.message);
            }
        }
        for s in &b.skipped {
            say!("  {}  skipped: {}", s.handoff_id, s.reason);
        }
    }

    pub fn export(&self, e: &ExportSummary) {
        if self.json {
            return print_json(e);
        }
        say!(
            "exported {} attempts of {} handoffs ({} integrations, {} bytes) to {}",
            e.attempts,
            e.handoffs,
            e.integrations,
            e.bytes,
            e.path.display()
        );
        say!(
            "open it anywhere: handoff-console --history-file {} history|handoffs|stats|show-attempt",
            e.path.display()
        );
    }

    pub fn revealed(&self, handoff: crate::ids::HandoffId, data: &serde_json::Value) {
        if self.json {
            return print_json(&json!({ "handoffId": handoff, "data": data }));
        }
        say!("handoff {handoff} (this reveal is recorded in the audit trail):");
        say!("{}", serde_json::to_string_pretty(data).unwrap_or_default());
    }

    pub fn key_rotation(&self, r: &crate::service::KeyRotation) {
        if self.json {
            return print_json(r);
        }
        let how = if r.resumed {
            "finished rotating to"
        } else {
            "rotated to"
        };
        say!(
            "{how} data key {}: {} handoff(s) re-sealed, {} skipped (data that cannot be opened), \
             {} left, {} old key(s) deleted",
            r.key,
            r.resealed,
            r.skipped,
            r.remaining,
            r.deleted_keys
        );
        if r.remaining > r.skipped {
            say!("run `keys rotate` again to re-seal the rest");
        }
        if r.deleted_keys == 0 {
            say!(
                "old keys stay in the secrets backend for {} minutes after a rotation (a send may \
                 still be using one); a later `keys rotate` deletes them",
                crate::service::KEEP_RETIRED.as_secs() / 60
            );
        }
    }

    pub fn worker(&self, p: &WorkerPass) {
        if self.json {
            return print_json(p);
        }
        say!(
            "{} retried: {} delivered, {} rescheduled, {} failed for good, {} skipped",
            p.ran,
            p.succeeded,
            p.rescheduled,
            p.failed,
            p.skipped
        );
    }

    pub fn stats(&self, s: &Stats) {
        if self.json {
            return print_json(s);
        }
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
        let rate = s
            .success_rate
            .map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
        say!(
            "{} attempts: {} succeeded, {} failed, {} pending; success rate {rate}",
            s.total,
            s.succeeded,
            s.failed,
            s.pending
        );
        let h = &s.handoffs;
        say!(
            "{} handoffs: {} delivered, {} undelivered, {} pending",
            h.total,
            h.delivered,
            h.undelivered,
            h.pending
        );
        say!(
            "duration: avg {}, p50 {}, p95 {}, p99 {}{}",
            ms(s.avg_ms),
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.p99_ms),
            if s.exact { " (exact)" } else { "" }
        );
        let failures: Vec<String> = s
            .failures_by_category
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        if !failures.is_empty() {
            say!("failures: {}", failures.join(", "));
        }
        if !s.top_errors.is_empty() {
            say!("top errors:");
            for e in &s.top_errors {
                let category = e.category.map_or("-", |c| c.as_str());
                say!("  {:>7}  {category:<14}  {}", e.count, e.message);
            }
        }
        let busy: Vec<_> = s.series.iter().filter(|p| p.total > 0).collect();
        if !busy.is_empty() {
            say!("per {} (UTC; empty buckets left out):", s.bucket.as_str());
            for p in busy {
                say!(
                    "  {}  {:>7} total  {:>7} ok  {:>7} failed  {:>7} pending",
                    p.start.format("%Y-%m-%d %H:%M"),
                    p.total,
                    p.succeeded,
                    p.failed,
                    p.pending
                );
            }
        }
    }

    pub fn test_report(&self, r: &TestReport) {
        if self.json {
            return print_json(r);
        }
        let o = &r.outcome;
        let verdict = match (r.mode, o.success) {
            (TestMode::Preview, true) => "preview".to_string(),
            (_, true) => "passed".to_string(),
            (_, false) => format!(
                "FAILED [{}]",
                o.category.map(|c| c.as_str()).unwrap_or("unknown")
            ),
        };
        let timing = match (o.total_ms, o.connect_ms, o.first_byte_ms) {
            (Some(t), Some(c), Some(f)) => {
                format!(" ({t} ms: connected after {c} ms, first byte after {f} ms)")
            }
            (Some(t), None, Some(f)) => format!(" ({t} ms, first byte after {f} ms)"),
            (Some(t), _, None) => format!(" ({t} ms)"),
            _ => String::new(),
        };
        say!("{verdict}: {}{timing}", o.message);
        if let Some(seed) = r.seed {
            say!("test data generated with seed {seed} (--seed {seed} repeats it)");
        }
        print_request(&r.request);
        if let Some(code) = o.status_code {
            say!("response status: {code}");
        }
        for e in &o.expectations {
            let mark = if e.passed { "ok  " } else { "FAIL" };
            say!("  {mark} {}: {}", e.name, e.reason);
        }
        if let Some(headers) = &o.headers {
            say!("response headers:");
            for (k, v) in headers {
                say!("  {k}: {}", v.as_str().unwrap_or_default());
            }
        }
        if let Some(body) = &o.body {
            match body {
                serde_json::Value::String(text) => say!(
                    "response body:
{text}"
                ),
                json => say!(
                    "response body:\n{}",
                    serde_json::to_string_pretty(json).unwrap_or_default()
                ),
            }
        }
        if let Some(row) = &o.row {
            let fate = match o.committed {
                Some(true) => "committed",
                _ => "rolled back",
            };
            say!("row as stored ({fate}):");
            for c in row {
                say!("  {} ({}) = {}", c.column, c.type_name, c.value);
            }
        } else if let Some(note) = &o.row_note {
            say!("row not read back: {note}");
        }
        if let (Some(a), Some(h)) = (o.attempt_id, o.handoff_id) {
            say!("recorded as attempt {a} (trigger test), handoff {h}");
        }
    }

    pub fn health(&self, r: &HealthReport) {
        if self.json {
            return print_json(r);
        }
        say!(
            "{} (checked {})",
            r.status.as_str().to_uppercase(),
            local(r.checked_at)
        );
        for i in problems_first(&r.integrations, |i| (i.status, i.name.as_str())) {
            say!(
                "\n{} [{}] {} ({} ms)",
                i.name,
                i.kind.as_str(),
                i.status.as_str(),
                i.latency_ms
            );
            print_checks(&i.checks);
        }
        say!("\nthis console");
        print_local(&r.local);
    }

    pub fn audit(&self, list: &[AuditEvent]) {
        if self.json {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!("no audit entries match");
        }
        say!(
            "{:<19}  {:<24}  {:<19}  {:<24}  DETAILS",
            "AT",
            "ACTOR",
            "ACTION",
            "OBJECT"
        );
        for e in list {
            let object = e
                .object
                .as_ref()
                .map(|o| o.name.clone().unwrap_or_else(|| o.id.clone()))
                .unwrap_or_else(|| "-".to_string());
            let details: String = audit_summary(e).chars().take(120).collect();
            let line = format!(
                "{:<19}  {:<24}  {:<19}  {:<24}  {details}",
                local(e.at),
                e.actor.chars().take(24).collect::<String>(),
                e.action.as_str(),
                object.chars().take(24).collect::<String>(),
            );
            say!("{}", line.trim_end());
        }
    }

    pub fn last_health(&self, h: &LastHealth) {
        if self.json {
            return print_json(h);
        }
        if h.status.is_none() {
            return say!("no health results kept yet (run `health`)");
        }
        let list = problems_first(&h.integrations, |s| {
            (s.integration.status, s.integration.name.as_str())
        });
        for s in list {
            let i = &s.integration;
            say!(
                "\n{} [{}] {} (checked {})",
                i.name,
                i.kind.as_str(),
                i.status.as_str(),
                local(s.checked_at)
            );
            print_checks(&i.checks);
        }
        if let Some(l) = &h.local {
            say!("\nthis console (checked {})", local(l.checked_at));
            print_local(&l.checks);
        }
    }
}

/// Integrations as the text output lists them: errors, then warnings, then healthy ones, each
/// group by name (case-insensitive). `--json` keeps the order it was given.
fn problems_first<T>(items: &[T], key: impl Fn(&T) -> (HealthStatus, &str)) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by(|a, b| {
        let (sa, na) = key(a);
        let (sb, nb) = key(b);
        sb.cmp(&sa)
            .then_with(|| na.to_lowercase().cmp(&nb.to_lowercase()))
    });
    sorted
}

/// An audit entry's details in one line: the changed paths of an update, otherwise its
/// top-level values (`key=value`).
fn audit_summary(e: &AuditEvent) -> String {
    let d = &e.details;
    if let Some(changes) = d.get("changes").and_then(|c| c.as_array()) {
        let paths: Vec<&str> = changes
            .iter()
            .filter_map(|c| c.get("path").and_then(|p| p.as_str()))
            .collect();
        let omitted = d.get("omitted").and_then(|o| o.as_u64()).unwrap_or(0);
        let more = if omitted > 0 {
            format!(" (+{omitted} more)")
        } else {
            String::new()
        };
        return format!("changed: {}{more}", paths.join(", "));
    }
    let Some(map) = d.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A request as the test shows it: method, URL, headers and body, or SQL and parameters.
fn print_request(request: &serde_json::Value) {
    if let Some(sql) = request.get("sql").and_then(|s| s.as_str()) {
        say!("{sql}");
        for (i, p) in request["params"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            // A fixed value (database.fixedValues) has no field: it is the config's, not collected.
            let source = if p["fixed"] == true {
                "(fixed value)"
            } else {
                p["field"].as_str().unwrap_or_default()
            };
            say!(
                "  {}: {} -> {} ({}) = {}",
                i + 1,
                source,
                p["column"].as_str().unwrap_or_default(),
                p["type"].as_str().unwrap_or_default(),
                p["value"]
            );
        }
    } else if let Some(method) = request.get("method").and_then(|m| m.as_str()) {
        say!("{method} {}", request["url"].as_str().unwrap_or_default());
        for (k, v) in request["headers"].as_object().into_iter().flatten() {
            say!("  {k}: {}", v.as_str().unwrap_or_default());
        }
        if !request["body"].is_null() {
            say!(
                "{}",
                serde_json::to_string_pretty(&request["body"]).unwrap_or_default()
            );
        }
    }
}

fn print_checks(checks: &[Check]) {
    for c in checks {
        let line = format!(
            "  {:<16} {:<8} {:>6} ms  {}",
            c.name,
            c.status.as_str(),
            c.latency_ms,
            c.reason.as_deref().unwrap_or("")
        );
        say!("{}", line.trim_end());
    }
}

fn print_local(checks: &[LocalCheck]) {
    for c in checks {
        let line = format!(
            "  {:<16} {:<8}  {}",
            c.name,
            c.status.as_str(),
            c.reason.as_deref().unwrap_or("")
        );
        say!("{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use crate::health::HealthStatus::{Error, Healthy, Warning};

    #[test]
    fn problems_are_listed_first_then_by_name() {
        let items = [
            (Healthy, "alpha"),
            (Error, "zulu"),
            (Warning, "Mike"),
            (Error, "bravo"),
            (Healthy, "Charlie"),
            (Warning, "echo"),
        ];
        let order: Vec<&str> = super::problems_first(&items, |i| (i.0, i.1))
            .into_iter()
            .map(|i| i.1)
            .collect();
        assert_eq!(order, ["bravo", "zulu", "echo", "Mike", "alpha", "Charlie"]);
    }

    #[test]
    fn terminal_escapes_from_a_target_are_shown_not_obeyed() {
        assert_eq!(
            super::printable("ok\x1b[2J\x07done\n\tnext"),
            "ok\\u{1b}[2J\\u{7}done\n\tnext"
        );
    }
}
