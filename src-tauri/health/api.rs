//! The checks of an API integration: `dns` (the endpoint's host resolves), `connect` (a TCP
//! connection), `tls` (https: the handshake and the certificate's expiry; plain http to another
//! machine: a warning), `request` (when `api.healthCheck` is configured, it answers; otherwise a
//! healthy line saying that only reachability was checked) and, with a health request and
//! authentication configured, `credentials` (not 401/403). The collected-data payload is never
//! sent.

use super::{Checks, HealthStatus, Outcome, healthy, is_loopback, resolve, status_text, tls};
use crate::integrations::{ApiConfig, HealthCheckRequest};
use crate::targets::ResolvedIntegration;
use crate::targets::api::{health_request, install_crypto_provider, transport_message};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

const SETTING: &str = "api.endpoint";

/// What `request` says when no health request is configured: information, not a warning (the
/// deliveries check tells whether the service takes handoffs).
pub const NO_HEALTH_REQUEST: &str = "no health request is configured (api.healthCheck), so only \
     reachability was checked, which does not show that the service accepts deliveries";

pub async fn check(integration: &ResolvedIntegration, api: &ApiConfig, checks: &mut Checks) {
    probe(integration, api, checks).await;
    if api.health_check.is_none() {
        checks.push(
            "request",
            HealthStatus::Healthy,
            Duration::ZERO,
            Some(NO_HEALTH_REQUEST.into()),
        );
    }
}

async fn probe(integration: &ResolvedIntegration, api: &ApiConfig, checks: &mut Checks) {
    if templated_host(&api.endpoint) {
        checks.push(
            "dns",
            HealthStatus::Warning,
            Duration::ZERO,
            Some(
                "the endpoint's host is filled in from collected data, so it cannot be checked \
                 ahead of a handoff"
                    .into(),
            ),
        );
        return;
    }
    // Placeholders in the path do not matter here: only the scheme, host and port are used.
    let probe = crate::templating::fill_for_check(&api.endpoint);
    let url = match url::Url::parse(&probe) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => u,
        _ => {
            checks.push(
                "dns",
                HealthStatus::Error,
                Duration::ZERO,
                Some(format!(
                    "{} — check {SETTING}",
                    crate::integrations::endpoint_problem(&probe)
                        .unwrap_or_else(|| "not a valid URL: the host is missing".into())
                )),
            );
            checks.block("dns");
            return;
        }
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let https = url.scheme() == "https";
    let port = url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });

    let addrs = checks.step("dns", resolve(&host, port, SETTING)).await;
    let stream = checks
        .step("connect", async {
            connect(addrs.as_deref().unwrap_or_default(), &host, port).await
        })
        .await;
    if https {
        if let Some(stream) = stream {
            checks.step("tls", tls::check(stream, &host)).await;
        } else {
            // No connection: listed as not run.
            checks.step("tls", async { healthy((), None) }).await;
        }
    } else if let Some(warning) = plain_http(&host) {
        checks.step("tls", async { warning }).await;
    }
    if let Some(health) = &api.health_check {
        let answer = checks
            .step("request", request(integration, api, health))
            .await;
        if api.authentication.is_some() {
            checks
                .step("credentials", async move {
                    match answer {
                        Some(status @ (401 | 403)) => Err(format!(
                            "credentials rejected ({}) — check api.authentication (the token, \
                             password or key may be wrong, expired or revoked)",
                            status_text(status)
                        )),
                        Some(200..=299) => {
                            healthy((), Some("not refused by the health request".into()))
                        }
                        status => Ok((
                            (),
                            HealthStatus::Warning,
                            Some(format!(
                                "could not tell: the health request answered {}",
                                status_text(status.unwrap_or_default())
                            )),
                        )),
                    }
                })
                .await;
        }
    }
}

/// Whether the endpoint's host or port holds a placeholder.
fn templated_host(endpoint: &str) -> bool {
    let after_scheme = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    authority.contains("{{")
}

/// Plain http to another machine is a warning (listed as `tls`); on loopback it is not listed.
fn plain_http(host: &str) -> Option<Outcome<()>> {
    (!is_loopback(host)).then(|| {
        Ok((
            (),
            HealthStatus::Warning,
            Some(format!(
                "{host} is reached over plain http: collected data travels unencrypted — use an \
                 https endpoint"
            )),
        ))
    })
}

/// A TCP connection to the first address that takes one.
async fn connect(addrs: &[SocketAddr], host: &str, port: u16) -> Outcome<TcpStream> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return healthy(s, Some(addr.to_string())),
            Err(e) => last = Some(e),
        }
    }
    let what = match last {
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        Some(e) => e.to_string(),
        None => "no address to connect to".to_string(),
    };
    Err(format!(
        "could not connect to {host}:{port}: {what} — is the service running and reachable from \
         this machine?"
    ))
}

/// Sends the health request; its value is the status code.
async fn request(
    integration: &ResolvedIntegration,
    api: &ApiConfig,
    health: &HealthCheckRequest,
) -> Outcome<u16> {
    install_crypto_provider();
    // A client of its own, without pooled connections: a connection kept by deliveries must not
    // answer for the service. The check's timeout bounds the whole request.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("handoff-console/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let shown = format!("{} {}", health.method.as_str(), health.path);
    let response = health_request(&client, integration, api, health)?
        .send()
        .await
        .map_err(|e| transport_message(&e.without_url(), &shown))?;
    let status = response.status().as_u16();
    let text = status_text(status);
    let has_auth = api.authentication.is_some();
    match status {
        200..=299 => healthy(status, Some(format!("{shown}: {text}"))),
        300..=399 => Ok((
            status,
            HealthStatus::Warning,
            Some(format!(
                "{shown} answered {text}, a redirect (deliveries do not follow redirects) — check \
                 api.endpoint and api.healthCheck.path"
            )),
        )),
        401 | 403 if has_auth => {
            healthy(status, Some(format!("{shown}: {text} (see credentials)")))
        }
        401 | 403 => Err(format!(
            "{shown} answered {text}: the service wants credentials and none are configured — \
             set api.authentication"
        )),
        404 | 405 => Err(format!(
            "{shown} answered {text} — check api.healthCheck (method and path)"
        )),
        500..=599 => Err(format!(
            "{shown} answered {text}: the service reports a problem on its side"
        )),
        _ => Ok((
            status,
            HealthStatus::Warning,
            Some(format!("{shown} answered {text}")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_from_collected_data_is_recognised() {
        assert!(templated_host("https://{{clinic}}.example.org/p"));
        assert!(templated_host("https://emr.example.org:{{port}}/p"));
        assert!(!templated_host("https://emr.example.org/patients/{{id}}"));
        assert!(!templated_host("https://emr.example.org?x={{id}}"));
    }

    #[test]
    fn plain_http_is_a_warning_except_on_loopback() {
        assert!(plain_http("127.0.0.1").is_none());
        assert!(plain_http("localhost").is_none());
        let Some(Ok((_, status, reason))) = plain_http("emr.example.org") else {
            panic!("plain http to another machine must be a warning");
        };
        assert_eq!(status, HealthStatus::Warning);
        assert!(reason.unwrap().contains("unencrypted"));
    }
}
