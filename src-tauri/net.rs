//! Host names and addresses, below every module that connects somewhere (database targets, the
//! health check, the PostgreSQL store).

/// Whether a host name is this machine (`localhost`, a loopback address): traffic to it never
/// leaves the machine.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
