//! Connection tests and health checks (the backend of the Integration Health Dashboard): for
//! every integration, concurrently, a chain of checks (DNS, connect, TLS, and for databases the
//! table, mapped columns, unmapped NOT NULL columns and insert privilege; for APIs the health
//! request when one is configured and whether the credentials are accepted; for both, what the
//! recent deliveries say (`deliveries`, from the store) and an end-to-end check that is never a
//! live write: a database test insert rolled back, or an API preview), and the console's own
//! parts (the store, the secrets backend). Each check says healthy / warning / error, how long
//! it took and a reason a clinic admin can act on. Results are kept in the store for the
//! dashboard's trend and its last-known state offline (`history`).
//!
//! Health checks never write to a target: an API gets at most the configured health request
//! (no collected data), a database reads its catalogue and takes a sample insert that is
//! rolled back.
//!
//! Within an integration the checks run in order under one per-check timeout; a check whose
//! prerequisite failed is still listed, as an error "not run: <check> failed", so that every run
//! of an integration lists the same checks.
//!
//! `endToEnd` is no healthier than the checks it builds on (every other check of its
//! integration): [`IntegrationHealth::settle`] caps it whenever a result is shown. The store
//! keeps its own, uncapped status, so a later read caps it against fresh data.

mod api;
mod database;
mod deliveries;
mod end_to_end;
mod history;
mod local;
mod tls;
mod x509;

pub use deliveries::{
    DELIVERIES, Delivery, DeliveryOutcome, DeliverySummary, DeliveryWindow, check as deliveries,
    no_recent_reason, verdict,
};
pub use history::MAX_HISTORY_RUNS;
pub(crate) use local::{check_secrets, check_store};

use crate::ids::IntegrationId;
use crate::integrations::TargetKind;
use crate::secrets::Secret;
use crate::secrets::redact::REDACTED;
use crate::targets::{ResolvedIntegration, Targets};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The per-check timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5_000);
/// The per-check timeouts accepted, in milliseconds.
pub const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=60_000;
/// How many integrations are checked at once. Clinics have tens; past this, a run takes one
/// timeout more per this many unreachable integrations.
pub const MAX_CONCURRENT: usize = 64;
/// A certificate expiring within this many days is a warning.
pub const CERT_WARNING_DAYS: i64 = 14;
/// The end-to-end check's name.
pub const END_TO_END: &str = "endToEnd";

/// Ordered by severity: the worst of a set is its maximum.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Warning,
    Error,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Healthy, Self::Warning, Self::Error]
            .into_iter()
            .find(|h| h.as_str() == s)
    }
}

/// The worst status of a set (healthy when empty).
pub fn worst(statuses: impl IntoIterator<Item = HealthStatus>) -> HealthStatus {
    statuses.into_iter().max().unwrap_or(HealthStatus::Healthy)
}

/// One check of one integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: String,
    pub status: HealthStatus,
    pub latency_ms: u64,
    /// Why it is not healthy and what to do; for a healthy check, a short detail or nothing.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct IntegrationHealth {
    pub id: IntegrationId,
    pub name: String,
    pub kind: TargetKind,
    /// The worst of its checks.
    pub status: HealthStatus,
    /// How long its checks took in all.
    pub latency_ms: u64,
    pub checks: Vec<Check>,
}

impl IntegrationHealth {
    /// Makes the result what is shown: `endToEnd` capped at the worst of the checks it builds
    /// on (every other check; its reason then says so), and the status the worst of all.
    pub fn settle(&mut self) {
        cap_end_to_end(&mut self.checks);
        self.status = worst(self.checks.iter().map(|c| c.status));
    }

    /// Puts a fresh `deliveries` check in place of the one kept (or, for a result from before
    /// that check existed, before `endToEnd`). Call [`Self::settle`] afterwards.
    pub fn replace_deliveries(&mut self, fresh: Check) {
        if let Some(kept) = self.checks.iter_mut().find(|c| c.name == DELIVERIES) {
            *kept = fresh;
            return;
        }
        let at = self
            .checks
            .iter()
            .position(|c| c.name == END_TO_END)
            .unwrap_or(self.checks.len());
        self.checks.insert(at, fresh);
    }
}

/// How many of the checks `endToEnd` builds on its reason names when it is capped.
const CAP_NAMES: usize = 4;

/// `endToEnd` may not look healthier than what it builds on: its status becomes the worst of
/// its own and every other check's, and a lowered one says why.
fn cap_end_to_end(checks: &mut [Check]) {
    let Some(at) = checks.iter().position(|c| c.name == END_TO_END) else {
        return;
    };
    let own = checks[at].status;
    let others = || {
        checks
            .iter()
            .enumerate()
            .filter(move |(n, _)| *n != at)
            .map(|(_, c)| c)
    };
    let floor = worst(others().map(|c| c.status));
    if floor <= own {
        return;
    }
    // The checks that were run first: "not run" ones only repeat the failure they follow.
    let worse: Vec<&Check> = others().filter(|c| c.status > own).collect();
    let ran: Vec<&&Check> = worse
        .iter()
        .filter(|c| {
            !c.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("not run:"))
        })
        .collect();
    let named: Vec<&&Check> = if ran.is_empty() {
        worse.iter().collect()
    } else {
        ran
    };
    let mut list: Vec<String> = named
        .iter()
        .take(CAP_NAMES)
        .map(|c| format!("{} {}", c.name, c.status.as_str()))
        .collect();
    if named.len() > CAP_NAMES {
        list.push(format!("{} more", named.len() - CAP_NAMES));
    }
    let note = format!(
        "no better than the checks it builds on: {}",
        list.join(", ")
    );
    let e2e = &mut checks[at];
    e2e.status = floor;
    e2e.reason = Some(match e2e.reason.take() {
        Some(r) if !r.is_empty() => format!("{r}; {note}"),
        _ => note,
    });
}

/// A check of the console's own parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct LocalCheck {
    pub name: String,
    pub status: HealthStatus,
    pub reason: Option<String>,
}

/// One health run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The worst of everything.
    pub status: HealthStatus,
    pub checked_at: DateTime<Utc>,
    pub integrations: Vec<IntegrationHealth>,
    pub local: Vec<LocalCheck>,
}

/// An integration's result in one past run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HealthSnapshot {
    pub checked_at: DateTime<Utc>,
    #[serde(flatten)]
    pub integration: IntegrationHealth,
}

/// The local checks of one past run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct LocalSnapshot {
    pub checked_at: DateTime<Utc>,
    pub checks: Vec<LocalCheck>,
}

/// The last-known state: each integration's latest result (they may come from different runs)
/// and the latest local checks.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct LastHealth {
    /// The worst of everything known; `None` when nothing was ever checked.
    pub status: Option<HealthStatus>,
    pub integrations: Vec<HealthSnapshot>,
    pub local: Option<LocalSnapshot>,
}

/// A check's result: its value for the checks after it, its status and reason. `Err` is an
/// error the later checks depend on (they are then not run).
type Outcome<T> = Result<(T, HealthStatus, Option<String>), String>;

fn healthy<T>(value: T, reason: Option<String>) -> Outcome<T> {
    Ok((value, HealthStatus::Healthy, reason))
}

/// An integration's checks as they run, in order, each under the per-check timeout.
struct Checks {
    list: Vec<Check>,
    timeout: Duration,
    /// The failed check the rest depend on.
    blocked_by: Option<&'static str>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Checks {
    fn new(timeout: Duration) -> Self {
        Self {
            list: Vec::new(),
            timeout,
            blocked_by: None,
        }
    }

    fn push(
        &mut self,
        name: &str,
        status: HealthStatus,
        latency: Duration,
        reason: Option<String>,
    ) {
        self.list.push(Check {
            name: name.to_string(),
            status,
            latency_ms: ms(latency),
            reason,
        });
    }

    /// Marks the rest as depending on `name`, which failed.
    fn block(&mut self, name: &'static str) {
        self.blocked_by.get_or_insert(name);
    }

    fn not_run_reason(&self) -> Option<String> {
        self.blocked_by
            .map(|failed| format!("not run: {failed} failed"))
    }

    fn timed_out(&self) -> String {
        format!("no answer within {} ms", ms(self.timeout))
    }

    /// Runs one check, unless an earlier one it depends on failed.
    async fn step<T>(
        &mut self,
        name: &'static str,
        check: impl Future<Output = Outcome<T>>,
    ) -> Option<T> {
        if let Some(reason) = self.not_run_reason() {
            self.push(name, HealthStatus::Error, Duration::ZERO, Some(reason));
            return None;
        }
        self.run(name, check).await
    }

    /// Runs one check whatever happened before it (it depends on no earlier one).
    async fn run<T>(
        &mut self,
        name: &'static str,
        check: impl Future<Output = Outcome<T>>,
    ) -> Option<T> {
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, check).await;
        let took = started.elapsed();
        match result {
            Ok(Ok((value, status, reason))) => {
                self.push(name, status, took, reason);
                Some(value)
            }
            Ok(Err(reason)) => {
                self.push(name, HealthStatus::Error, took, Some(reason));
                self.block(name);
                None
            }
            Err(_) => {
                let reason = self.timed_out();
                self.push(name, HealthStatus::Error, took, Some(reason));
                self.block(name);
                None
            }
        }
    }
}

/// Checks one integration (its secrets already read). `deliveries` (the [`deliveries`] check,
/// read from the store by the caller) is listed before `endToEnd`. The result is as kept:
/// [`IntegrationHealth::settle`] makes it what is shown.
pub async fn check_integration(
    integration: &ResolvedIntegration,
    targets: &Targets,
    timeout: Duration,
    deliveries: Check,
) -> IntegrationHealth {
    let started = Instant::now();
    let deliveries_ms = deliveries.latency_ms;
    let config = &integration.config;
    let mut checks = Checks::new(timeout);
    match (&config.api, &config.database) {
        (Some(api), _) => {
            api::check(integration, api, &mut checks).await;
            checks.list.push(deliveries);
            // A preview needs no network: it runs even when the endpoint is unreachable.
            checks
                .run(END_TO_END, end_to_end::check(integration, targets))
                .await;
        }
        (None, Some(db)) => {
            database::check(integration, db, &mut checks).await;
            checks.list.push(deliveries);
            checks
                .step(END_TO_END, end_to_end::check(integration, targets))
                .await;
        }
        (None, None) => {
            checks.push(
                "config",
                HealthStatus::Error,
                Duration::ZERO,
                Some("the integration has no target (api or database)".into()),
            );
            checks.list.push(deliveries);
        }
    }
    let mut list = checks.list;
    // Belt and braces: no reason may carry a credential, whatever a server or library put in it.
    let secrets: Vec<&Secret<String>> = integration.secrets.values().collect();
    for c in &mut list {
        if let Some(r) = c.reason.as_mut() {
            *r = redact(r, &secrets);
        }
    }
    IntegrationHealth {
        id: integration.id,
        name: config.name.clone(),
        kind: config.kind,
        status: worst(list.iter().map(|c| c.status)),
        latency_ms: ms(started.elapsed()).saturating_add(deliveries_ms),
        checks: list,
    }
}

/// What an integration shows when its secrets could not be read: that error, and what its
/// deliveries say (read from the store); nothing is tried.
pub fn unresolved(
    id: IntegrationId,
    name: &str,
    kind: TargetKind,
    reason: String,
    deliveries: Check,
) -> IntegrationHealth {
    let checks = vec![
        Check {
            name: "secrets".into(),
            status: HealthStatus::Error,
            latency_ms: 0,
            reason: Some(format!("could not read its credentials: {reason}")),
        },
        deliveries,
    ];
    IntegrationHealth {
        id,
        name: name.to_string(),
        kind,
        status: worst(checks.iter().map(|c| c.status)),
        latency_ms: checks[1].latency_ms,
        checks,
    }
}

/// Secrets shorter than this are not searched for: a one-letter "secret" would blank that letter
/// out of every reason, and reasons are the console's own words, not echoes of what was sent.
const MIN_REDACTED_LEN: usize = 4;

fn redact(text: &str, secrets: &[&Secret<String>]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        let s = s.expose();
        if s.len() >= MIN_REDACTED_LEN && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
}

/// An HTTP status with its reason phrase: `503 Service Unavailable`.
fn status_text(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_string()
}

/// Whether a host is this machine: no TLS is needed to reach it.
fn is_loopback(host: &str) -> bool {
    crate::net::is_loopback_host(host)
}

/// Resolves `host:port` (DNS), with a reason a clinic admin can act on when it fails.
async fn resolve(host: &str, port: u16, setting: &str) -> Outcome<Vec<std::net::SocketAddr>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return healthy(
            vec![(ip, port).into()],
            Some(format!("{bare} is an IP address")),
        );
    }
    match tokio::net::lookup_host((bare, port)).await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            if addrs.is_empty() {
                return Err(format!(
                    "the host '{bare}' has no address (DNS) — check {setting}"
                ));
            }
            let shown = addrs
                .iter()
                .take(3)
                .map(|a| a.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            healthy(addrs, Some(shown))
        }
        Err(e) => Err(format!(
            "could not find the host '{bare}' (DNS: {e}) — check {setting} and this machine's \
             network"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_status_wins() {
        use HealthStatus::*;
        assert_eq!(worst([]), Healthy);
        assert_eq!(worst([Healthy, Warning, Healthy]), Warning);
        assert_eq!(worst([Warning, Error, Healthy]), Error);
        assert_eq!(HealthStatus::parse("warning"), Some(Warning));
        assert_eq!(HealthStatus::parse("ok"), None);
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "LOCALHOST",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "db.example.org",
            "10.0.0.5",
            "192.168.1.1",
            "localhost.example.org",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[tokio::test]
    async fn a_failed_check_marks_the_ones_after_it_not_run() {
        let mut checks = Checks::new(Duration::from_millis(100));
        let first: Option<()> = checks.step("first", async { Err("down".into()) }).await;
        assert!(first.is_none());
        let second = checks.step("second", async { healthy((), None) }).await;
        assert!(second.is_none());
        assert_eq!(checks.list[1].status, HealthStatus::Error);
        assert_eq!(
            checks.list[1].reason.as_deref(),
            Some("not run: first failed")
        );
    }

    #[tokio::test]
    async fn a_check_past_the_timeout_is_an_error_that_says_so() {
        let mut checks = Checks::new(Duration::from_millis(50));
        let started = Instant::now();
        let slow = checks
            .step("slow", async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                healthy((), None)
            })
            .await;
        assert!(slow.is_none());
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            checks.list[0].reason.as_deref(),
            Some("no answer within 50 ms")
        );
    }

    fn c(name: &str, status: HealthStatus, reason: &str) -> Check {
        Check {
            name: name.into(),
            status,
            latency_ms: 1,
            reason: Some(reason.into()),
        }
    }

    fn integration(checks: Vec<Check>) -> IntegrationHealth {
        IntegrationHealth {
            id: IntegrationId::new(),
            name: "emr".into(),
            kind: TargetKind::Api,
            status: HealthStatus::Healthy,
            latency_ms: 3,
            checks,
        }
    }

    #[test]
    fn end_to_end_is_no_healthier_than_the_checks_it_builds_on() {
        use HealthStatus::*;
        let mut i = integration(vec![
            c("dns", Healthy, "127.0.0.1 is an IP address"),
            c("deliveries", Error, "3 of the last 3 deliveries failed"),
            c(END_TO_END, Healthy, "preview only: nothing was sent"),
        ]);
        i.settle();
        let e2e = &i.checks[2];
        assert_eq!(e2e.status, Error);
        assert_eq!(
            e2e.reason.as_deref(),
            Some(
                "preview only: nothing was sent; no better than the checks it builds on: \
                 deliveries error"
            )
        );
        assert_eq!(i.status, Error);
        // Settling again changes nothing (the cap is not applied twice).
        let once = i.checks.clone();
        i.settle();
        assert_eq!(i.checks, once);

        // A warning among the others lowers a healthy end-to-end to a warning; "not run"
        // checks are left out of the reason when others explain it.
        let mut i = integration(vec![
            c("connect", Error, "connection refused"),
            c("request", Error, "not run: connect failed"),
            c("tls", Warning, "plain http"),
            c(END_TO_END, Warning, "the table refused a sample row"),
        ]);
        i.settle();
        assert_eq!(i.checks[3].status, Error);
        let reason = i.checks[3].reason.as_deref().unwrap();
        assert!(reason.ends_with("builds on: connect error"), "{reason}");

        // Healthy others leave it alone; an end-to-end worse than the others stays worse.
        for own in [Healthy, Warning, Error] {
            let mut i = integration(vec![c("dns", Healthy, "ok"), c(END_TO_END, own, "own")]);
            i.settle();
            assert_eq!(i.checks[1].status, own);
            assert_eq!(i.checks[1].reason.as_deref(), Some("own"));
            assert_eq!(i.status, own);
        }
    }

    #[test]
    fn a_fresh_deliveries_check_replaces_the_kept_one_or_goes_before_end_to_end() {
        use HealthStatus::*;
        let mut i = integration(vec![
            c("dns", Healthy, "ok"),
            c(DELIVERIES, Error, "old"),
            c(END_TO_END, Healthy, "preview"),
        ]);
        i.replace_deliveries(c(DELIVERIES, Healthy, "new"));
        let names: Vec<&str> = i.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["dns", DELIVERIES, END_TO_END]);
        assert_eq!(i.checks[1].reason.as_deref(), Some("new"));
        // A result kept before the check existed.
        let mut i = integration(vec![c("dns", Healthy, "ok"), c(END_TO_END, Healthy, "p")]);
        i.replace_deliveries(c(DELIVERIES, Warning, "new"));
        let names: Vec<&str> = i.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["dns", DELIVERIES, END_TO_END]);
        i.settle();
        assert_eq!(i.status, Warning);
        assert_eq!(i.checks[2].status, Warning);
    }

    #[test]
    fn reasons_lose_any_secret() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(
            redact("server said: bad token hunter2", &[&s]),
            format!("server said: bad token {REDACTED}")
        );
    }
}
