//! The TLS check of an https endpoint: a handshake verified the way deliveries are (reqwest's
//! platform verifier, ring provider), and the leaf certificate's expiry. The certificate is read
//! even when verification fails, so the reason can say both ("not trusted; expires in 3 days").

use super::{CERT_WARNING_DAYS, HealthStatus, Outcome, x509};
use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;

/// Delegates to the real verifier and keeps the leaf certificate it was shown.
#[derive(Debug)]
struct Capturing {
    inner: rustls_platform_verifier::Verifier,
    leaf: Mutex<Option<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Capturing {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.leaf.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(end_entity.clone().into_owned());
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Shakes hands over `stream` with `host` and judges the certificate.
pub async fn check(stream: TcpStream, host: &str) -> Outcome<()> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|e| format!("this machine's trusted certificates could not be loaded: {e}"))?;
    let verifier = Arc::new(Capturing {
        inner,
        leaf: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS is not usable: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string())
        .map_err(|_| format!("'{host}' is not a valid TLS server name — check api.endpoint"))?;
    let handshake = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await;
    let leaf = verifier
        .leaf
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let not_after = leaf.as_deref().and_then(x509::not_after);
    let verified = match handshake {
        Ok(_) => Ok(()),
        Err(e) => Err(handshake_problem(&e, host, leaf.is_some())),
    };
    verdict(verified, not_after, Utc::now()).map(|(status, reason)| ((), status, reason))
}

/// Why a handshake failed, in words.
fn handshake_problem(e: &std::io::Error, host: &str, saw_certificate: bool) -> Problem {
    let rustls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => Problem::Expired,
            CertificateError::UnknownIssuer => Problem::Untrusted(
                "it is not signed by an authority this machine trusts (self-signed or a private \
                 CA)"
                .into(),
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Problem::Untrusted(format!("it is not issued for '{host}'"))
            }
            other => Problem::Untrusted(format!("{other:?}")),
        },
        Some(other) if saw_certificate => Problem::Untrusted(other.to_string()),
        Some(other) => Problem::Handshake(other.to_string()),
        None => Problem::Handshake(e.to_string()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Expired,
    Untrusted(String),
    Handshake(String),
}

fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Judges a handshake's outcome and the certificate's expiry: expired or not trusted is an
/// error, expiring within [`CERT_WARNING_DAYS`] a warning.
pub fn verdict(
    verified: Result<(), Problem>,
    not_after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(HealthStatus, Option<String>), String> {
    let expiry = not_after.map(|t| (t, (t - now).num_days()));
    let expiry_note = match expiry {
        Some((t, _)) if t <= now => format!("it expired on {}", date(t)),
        Some((t, days)) => format!("it expires in {days} days ({})", date(t)),
        None => "its expiry could not be read".into(),
    };
    match verified {
        Err(Problem::Handshake(why)) => Err(format!(
            "the TLS handshake failed: {why} — check that the endpoint speaks https"
        )),
        Err(Problem::Untrusted(why)) => Err(format!(
            "certificate not trusted: {why}; {expiry_note} — the service needs a certificate \
             from a public authority (or this machine must trust its CA)"
        )),
        Err(Problem::Expired) => Err(format!(
            "the certificate has expired ({expiry_note}) — the service must renew it"
        )),
        Ok(()) => match expiry {
            Some((t, _)) if t <= now => Err(format!(
                "the certificate has expired ({expiry_note}) — the service must renew it"
            )),
            Some((_, days)) if days < CERT_WARNING_DAYS => Ok((
                HealthStatus::Warning,
                Some(format!(
                    "the certificate expires soon: {expiry_note} — ask the service to renew it"
                )),
            )),
            Some((t, days)) => Ok((
                HealthStatus::Healthy,
                Some(format!("certificate valid until {} ({days} days)", date(t))),
            )),
            None => Ok((HealthStatus::Healthy, Some("certificate trusted".into()))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_trusted_certificate_is_judged_by_its_expiry() {
        let now = Utc::now();
        let (status, reason) = verdict(Ok(()), Some(now + Duration::days(90)), now).unwrap();
        assert_eq!(status, HealthStatus::Healthy);
        assert!(reason.unwrap().contains("90 days"));
        let (status, reason) = verdict(
            Ok(()),
            Some(now + Duration::days(5) + Duration::hours(1)),
            now,
        )
        .unwrap();
        assert_eq!(status, HealthStatus::Warning);
        assert!(reason.unwrap().contains("expires in 5 days"));
        let err = verdict(Ok(()), Some(now - Duration::days(1)), now).unwrap_err();
        assert!(err.contains("expired"), "{err}");
    }

    #[test]
    fn an_untrusted_certificate_is_an_error_that_still_tells_its_expiry() {
        let now = Utc::now();
        let err = verdict(
            Err(Problem::Untrusted("self-signed".into())),
            Some(now + Duration::days(3) + Duration::hours(1)),
            now,
        )
        .unwrap_err();
        assert!(err.starts_with("certificate not trusted"), "{err}");
        assert!(err.contains("expires in 3 days"), "{err}");
        let err = verdict(Err(Problem::Handshake("reset".into())), None, now).unwrap_err();
        assert!(err.contains("handshake failed"), "{err}");
    }
}
