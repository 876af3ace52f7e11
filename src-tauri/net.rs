//! Host names, addresses and TLS guarantees, below every module that connects somewhere
//! (database targets, the health check, the PostgreSQL store).

/// Whether a host name is this machine (`localhost`, a loopback address): traffic to it never
/// leaves the machine.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What a TLS mode guarantees, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsProtection {
    /// Never encrypted.
    Off,
    /// Encrypted when the server offers it, else in the clear; the certificate is not checked.
    Opportunistic,
    /// Always encrypted; the certificate is not checked.
    Encrypted,
    /// Encrypted with a certificate from a trusted CA, whatever host it names.
    VerifiedCa,
    /// Encrypted with a trusted certificate that names the host.
    Verified,
}

impl TlsProtection {
    /// libpq's `sslmode` names, weakest first.
    const PG_SSLMODES: [(&'static str, TlsProtection); 5] = [
        ("disable", Self::Off),
        ("prefer", Self::Opportunistic),
        ("require", Self::Encrypted),
        ("verify-ca", Self::VerifiedCa),
        ("verify-full", Self::Verified),
    ];

    /// This guarantee's libpq `sslmode` name.
    pub fn pg_sslmode(self) -> &'static str {
        Self::PG_SSLMODES
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("verify-full", |(name, _)| name)
    }

    /// The guarantee a libpq `sslmode` name gives (`allow` is not offered: it prefers no TLS).
    pub fn from_pg_sslmode(name: &str) -> Option<Self> {
        Self::PG_SSLMODES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }

    /// sqlx's PostgreSQL mode for it. `Require` accepts any certificate (sqlx ignores a CA file
    /// there), so only the verifying modes use one.
    pub fn pg_ssl_mode(self) -> sqlx::postgres::PgSslMode {
        use sqlx::postgres::PgSslMode;
        match self {
            Self::Off => PgSslMode::Disable,
            Self::Opportunistic => PgSslMode::Prefer,
            Self::Encrypted => PgSslMode::Require,
            Self::VerifiedCa => PgSslMode::VerifyCa,
            Self::Verified => PgSslMode::VerifyFull,
        }
    }
}
