//! Database TLS against the real PostgreSQL (`HANDOFF_TEST_PG_URL`) and MariaDB/MySQL
//! (`HANDOFF_TEST_MYSQL_URL`), through TLS endpoints the tests start in front of them
//! (`database_tls/front.rs`) on an address of this machine other than loopback: verified by
//! default, a private CA's file, a certificate for another host, weaker modes chosen
//! explicitly, a server without TLS; the health check's `tls` row for each; and configs saved
//! before the defaults changed.

mod common;
mod common_db;
#[path = "database_tls/front.rs"]
mod front;

use common::TestApp;
use common_db::{Server, cleanly, count_mysql, count_pg, data, exec, handoff, integration, suffix};
use front::{Front, Offer, PrivateCa, Wire, self_signed, this_machines_address};
use handoff_console::health::{HealthStatus, IntegrationHealth};
use handoff_console::targets::database::DatabasePools;
use handoff_console::targets::{Delivery, ErrorCategory};
use serde_json::{Value, json};
use sqlx::{MySqlPool, PgPool};
use std::net::SocketAddr;
use std::time::Duration;

const HEALTH_TIMEOUT: Option<Duration> = Some(Duration::from_secs(5));

fn upstream<P>(s: &Server<P>) -> SocketAddr {
    let ip: std::net::IpAddr = s.host.parse().expect("the test URL names an IP address");
    (ip, s.port).into()
}

/// The `database` section for a table behind `front`, with `extra` settings.
fn section<P>(s: &Server<P>, db_type: &str, front: &Front, table: &str, extra: Value) -> Value {
    let mut d = s.config(db_type, table, json!({"fullName": "full_name"}));
    d["hostname"] = json!(front.host());
    d["port"] = json!(front.addr.port());
    for (k, v) in extra.as_object().expect("extra settings") {
        d[k] = v.clone();
    }
    d
}

async fn deliver<P>(s: &Server<P>, database: Value) -> Delivery {
    let i = integration(database, s.password.as_deref());
    let pools = DatabasePools::default();
    pools
        .deliver(&i, &handoff(), &data(json!({"fullName": "Ann Lee"})))
        .await
}

fn assert_delivered(d: &Delivery) {
    assert!(d.succeeded(), "{:?}: {}", d.failure, d.message);
}

fn assert_refused(d: &Delivery, says: &[&str]) {
    assert_eq!(d.failure, Some(ErrorCategory::Network), "{}", d.message);
    for s in says {
        assert!(d.message.contains(s), "'{s}' not in: {}", d.message);
    }
}

/// The health check's `tls` row (and the integration) for `database`, saved as a console would.
async fn tls_row(database: Value) -> (HealthStatus, String, IntegrationHealth) {
    let t = TestApp::new().await;
    t.add(json!({"name": "clinic-db", "kind": "database",
                 "fields": [{"name": "fullName", "type": "name", "required": true}],
                 "database": database, "retry": {"maxAttempts": 1}}))
        .await;
    let report = t
        .app
        .health(Some("clinic-db"), HEALTH_TIMEOUT)
        .await
        .unwrap();
    let i = report
        .integrations
        .into_iter()
        .next()
        .expect("one integration");
    let tls = i
        .checks
        .iter()
        .find(|c| c.name == "tls")
        .unwrap_or_else(|| panic!("no tls check in {:#?}", i.checks));
    (tls.status, tls.reason.clone().unwrap_or_default(), i)
}

fn check_reason(i: &IntegrationHealth, name: &str) -> String {
    let c = i.checks.iter().find(|c| c.name == name).expect("check");
    format!("{:?}: {}", c.status, c.reason.as_deref().unwrap_or(""))
}

// ---- PostgreSQL ----

async fn pg_table(pg: &Server<PgPool>) -> String {
    let t = format!("tls_{}", suffix());
    exec(
        &pg.pool,
        format!("CREATE TABLE {t} (id serial PRIMARY KEY, full_name text NOT NULL)"),
    )
    .await;
    t
}

#[tokio::test]
async fn postgres_off_this_machine_tls_is_verified_by_default_and_a_private_ca_file_is_trusted() {
    let pg = common_db::postgres().await;
    let t = pg_table(&pg).await;
    let body = async {
        let ip = this_machines_address();
        let ca = PrivateCa::new();
        let front = Front::start(
            Wire::Postgres,
            ca.server(&[&ip.to_string()]),
            ip,
            upstream(&pg),
        )
        .await;

        // No `ssl`: verified TLS, so a certificate from a CA the console does not know is refused
        // (it used to be `prefer`, which took any certificate) and nothing is written.
        let d = deliver(&pg, section(&pg, "postgresql", &front, &t, json!({}))).await;
        assert_refused(&d, &["not signed by", "database.sslRootCert"]);
        assert_eq!(count_pg(&pg.pool, &t).await, 0);
        // `ssl: true` is verified TLS too (it used to be `require`).
        let d = deliver(
            &pg,
            section(&pg, "postgresql", &front, &t, json!({"ssl": true})),
        )
        .await;
        assert_refused(&d, &["database.sslRootCert"]);
        assert_eq!(count_pg(&pg.pool, &t).await, 0);

        // With the CA's file the certificate and the host name check out.
        let trusted = section(
            &pg,
            "postgresql",
            &front,
            &t,
            json!({"sslRootCert": ca.pem_path()}),
        );
        assert_delivered(&deliver(&pg, trusted.clone()).await);
        assert_eq!(count_pg(&pg.pool, &t).await, 1);
        let (status, reason, _) = tls_row(trusted).await;
        assert_eq!(status, HealthStatus::Healthy, "{reason}");
        assert!(
            reason.starts_with("verified: encrypted, certificate and host name checked"),
            "{reason}"
        );

        // The health check's connect row says why an untrusted certificate is refused.
        let (_, _, i) = tls_row(section(&pg, "postgresql", &front, &t, json!({}))).await;
        let connect = check_reason(&i, "connect");
        assert!(connect.starts_with("Error:"), "{connect}");
        assert!(connect.contains("database.sslRootCert"), "{connect}");
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {t}"))).await;
}

#[tokio::test]
async fn postgres_a_certificate_for_another_host_is_refused_unless_verify_ca_is_chosen() {
    let pg = common_db::postgres().await;
    let t = pg_table(&pg).await;
    let body = async {
        let ip = this_machines_address();
        let ca = PrivateCa::new();
        let front = Front::start(
            Wire::Postgres,
            ca.server(&["db.elsewhere.example"]),
            ip,
            upstream(&pg),
        )
        .await;
        let ca_file = json!({"sslRootCert": ca.pem_path()});
        let d = deliver(&pg, section(&pg, "postgresql", &front, &t, ca_file.clone())).await;
        assert_refused(&d, &["not for the host name", "database.hostname"]);
        assert_eq!(count_pg(&pg.pool, &t).await, 0);

        // verify-ca takes any certificate of the CA: delivered, and health says what is missing.
        let verify_ca = section(
            &pg,
            "postgresql",
            &front,
            &t,
            json!({"sslRootCert": ca.pem_path(), "ssl": "verify-ca"}),
        );
        assert_delivered(&deliver(&pg, verify_ca.clone()).await);
        let (status, reason, _) = tls_row(verify_ca).await;
        assert_eq!(status, HealthStatus::Warning, "{reason}");
        assert!(
            reason.starts_with("encrypted, certificate verified but not its host name"),
            "{reason}"
        );
        assert!(
            reason.contains("set database.ssl to \"verify-full\""),
            "{reason}"
        );
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {t}"))).await;
}

#[tokio::test]
async fn postgres_require_is_encrypted_but_not_verified_and_health_warns_with_the_fix() {
    let pg = common_db::postgres().await;
    let t = pg_table(&pg).await;
    let body = async {
        let ip = this_machines_address();
        let front = Front::start(
            Wire::Postgres,
            self_signed(&["db.elsewhere.example"]),
            ip,
            upstream(&pg),
        )
        .await;
        let require = section(&pg, "postgresql", &front, &t, json!({"ssl": "require"}));
        assert_delivered(&deliver(&pg, require.clone()).await);
        let (status, reason, _) = tls_row(require).await;
        assert_eq!(status, HealthStatus::Warning, "{reason}");
        assert!(
            reason.starts_with("encrypted but not verified (database.ssl \"require\")"),
            "{reason}"
        );
        assert!(
            reason.contains("set database.ssl to \"verify-full\""),
            "{reason}"
        );

        // `prefer` in front of the real server's own TLS: the server says it is encrypted.
        let relay = Front::start(Wire::Postgres, Offer::Relay, ip, upstream(&pg)).await;
        let prefer = section(&pg, "postgresql", &relay, &t, json!({"ssl": "prefer"}));
        let encrypted: bool = sqlx::query_scalar("SHOW ssl")
            .fetch_one(&pg.pool)
            .await
            .map(|on: String| on == "on")
            .unwrap_or(false);
        let (status, reason, _) = tls_row(prefer).await;
        assert_eq!(status, HealthStatus::Warning, "{reason}");
        let level = if encrypted {
            "encrypted but not verified"
        } else {
            "not encrypted"
        };
        assert!(
            reason.starts_with(&format!("{level} (database.ssl \"prefer\")")),
            "{reason}"
        );
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {t}"))).await;
}

#[tokio::test]
async fn postgres_without_tls_verified_default_refuses_and_an_explicit_prefer_is_plaintext() {
    let pg = common_db::postgres().await;
    let t = pg_table(&pg).await;
    let body = async {
        let ip = this_machines_address();
        let front = Front::start(Wire::Postgres, Offer::NoTls, ip, upstream(&pg)).await;
        // Before, an absent `ssl` fell back to the clear without a word.
        let d = deliver(&pg, section(&pg, "postgresql", &front, &t, json!({}))).await;
        assert_refused(
            &d,
            &[
                "does not offer TLS",
                "\"verify-full\" requires it",
                "\"disable\"",
            ],
        );
        assert_eq!(count_pg(&pg.pool, &t).await, 0);

        let prefer = section(&pg, "postgresql", &front, &t, json!({"ssl": "prefer"}));
        assert_delivered(&deliver(&pg, prefer.clone()).await);
        let (status, reason, _) = tls_row(prefer).await;
        assert_eq!(status, HealthStatus::Warning, "{reason}");
        assert!(
            reason.starts_with("not encrypted (database.ssl \"prefer\")"),
            "{reason}"
        );
        assert!(
            reason.contains("collected data travels in the clear"),
            "{reason}"
        );
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {t}"))).await;
}

#[tokio::test]
async fn postgres_a_missing_ca_file_is_named() {
    let pg = common_db::postgres().await;
    let t = pg_table(&pg).await;
    let body = async {
        let ip = this_machines_address();
        let ca = PrivateCa::new();
        let front = Front::start(
            Wire::Postgres,
            ca.server(&[&ip.to_string()]),
            ip,
            upstream(&pg),
        )
        .await;
        let gone = format!("{}.gone", ca.pem_path());
        let d = deliver(
            &pg,
            section(&pg, "postgresql", &front, &t, json!({"sslRootCert": gone})),
        )
        .await;
        assert_eq!(
            d.failure,
            Some(ErrorCategory::Configuration),
            "{}",
            d.message
        );
        assert!(
            d.message.contains("(database.sslRootCert) cannot be read"),
            "{}",
            d.message
        );
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {t}"))).await;
}

// ---- MariaDB / MySQL ----

async fn mysql_table(my: &Server<MySqlPool>) -> String {
    let t = format!("tls_{}", suffix());
    exec(
        &my.pool,
        format!("CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, full_name TEXT NOT NULL)"),
    )
    .await;
    t
}

#[tokio::test]
async fn mysql_off_this_machine_tls_is_verified_by_default_and_a_private_ca_file_is_trusted() {
    let my = common_db::mysql().await;
    let t = mysql_table(&my).await;
    let body = async {
        let ip = this_machines_address();
        let ca = PrivateCa::new();
        let front = Front::start(
            Wire::Mysql,
            ca.server(&[&ip.to_string()]),
            ip,
            upstream(&my),
        )
        .await;
        let d = deliver(&my, section(&my, "mysql", &front, &t, json!({}))).await;
        assert_refused(&d, &["not signed by", "database.sslRootCert"]);
        assert_eq!(count_mysql(&my.pool, &t).await, 0);

        let trusted = section(
            &my,
            "mysql",
            &front,
            &t,
            json!({"sslRootCert": ca.pem_path()}),
        );
        assert_delivered(&deliver(&my, trusted.clone()).await);
        assert_eq!(count_mysql(&my.pool, &t).await, 1);
        let (status, reason, _) = tls_row(trusted).await;
        assert_eq!(status, HealthStatus::Healthy, "{reason}");
        assert!(
            reason.contains("database.ssl not set, so \"verify_identity\""),
            "{reason}"
        );

        // MySQL's own names: verify_identity refuses a certificate for another host.
        let elsewhere = Front::start(
            Wire::Mysql,
            ca.server(&["db.elsewhere.example"]),
            ip,
            upstream(&my),
        )
        .await;
        let d = deliver(
            &my,
            section(
                &my,
                "mysql",
                &elsewhere,
                &t,
                json!({"ssl": "verify_identity", "sslRootCert": ca.pem_path()}),
            ),
        )
        .await;
        assert_refused(&d, &["not for the host name", "\"verify_ca\""]);
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE {t}"))).await;
}

#[tokio::test]
async fn mariadb_required_is_encrypted_but_not_verified_and_health_names_verify_identity() {
    let my = common_db::mysql().await;
    let t = mysql_table(&my).await;
    let body = async {
        let ip = this_machines_address();
        let front = Front::start(
            Wire::Mysql,
            self_signed(&["db.elsewhere.example"]),
            ip,
            upstream(&my),
        )
        .await;
        let required = section(&my, "mysql", &front, &t, json!({"ssl": "required"}));
        assert_delivered(&deliver(&my, required.clone()).await);
        assert_eq!(count_mysql(&my.pool, &t).await, 1);
        let (status, reason, _) = tls_row(required).await;
        assert_eq!(status, HealthStatus::Warning, "{reason}");
        assert!(
            reason.starts_with("encrypted but not verified (database.ssl \"required\")"),
            "{reason}"
        );
        assert!(
            reason.contains("set database.ssl to \"verify_identity\""),
            "{reason}"
        );
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE {t}"))).await;
}

#[tokio::test]
async fn mariadb_without_tls_verified_default_refuses_and_an_explicit_preferred_is_plaintext() {
    let my = common_db::mysql().await;
    let t = mysql_table(&my).await;
    let body = async {
        let ip = this_machines_address();
        let front = Front::start(Wire::Mysql, Offer::NoTls, ip, upstream(&my)).await;
        let d = deliver(&my, section(&my, "mysql", &front, &t, json!({}))).await;
        assert_refused(
            &d,
            &[
                "does not offer TLS",
                "\"verify_identity\" requires it",
                "\"disabled\"",
            ],
        );
        assert_eq!(count_mysql(&my.pool, &t).await, 0);

        let preferred = section(&my, "mysql", &front, &t, json!({"ssl": "preferred"}));
        assert_delivered(&deliver(&my, preferred.clone()).await);
        let (status, reason, _) = tls_row(preferred).await;
        assert_eq!(status, HealthStatus::Warning, "{reason}");
        assert!(
            reason.starts_with("not encrypted (database.ssl \"preferred\")"),
            "{reason}"
        );
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE {t}"))).await;
}

// ---- configs saved before ----

/// A store migrated up to (not including) the TLS migration, with integrations as the console
/// saved them then; opening it as a console applies the rest.
#[tokio::test]
async fn configs_saved_before_keep_their_tls_meaning_and_new_ones_get_the_new_defaults() {
    const TLS_MIGRATION: &str = "20261210120000_database_tls.sql";
    let dir = tempfile::tempdir().unwrap();
    let pool = common::store_migrated_before(dir.path(), TLS_MIGRATION).await;
    let saved = |name: &str, database: Value| {
        json!({"name": name, "kind": "database",
               "fields": [{"name": "fullName", "type": "text", "required": false}],
               "database": database,
               "retry": {"maxAttempts": 5, "baseDelayMs": 2000, "maxDelayMs": 3600000}})
    };
    let server = |db_type: &str, host: &str, ssl: Option<Value>| {
        let mut d = json!({"type": db_type, "hostname": host, "database": "records",
                           "username": "app", "table": "patients",
                           "fieldMapping": {"fullName": "full_name"}});
        if let Some(ssl) = ssl {
            d["ssl"] = ssl;
        }
        d
    };
    let rows = [
        ("pg-unset", server("postgresql", "db.clinic.example", None)),
        (
            "pg-true",
            server("postgresql", "db.clinic.example", Some(json!(true))),
        ),
        (
            "pg-false",
            server("postgresql", "db.clinic.example", Some(json!(false))),
        ),
        (
            "pg-verify",
            server(
                "postgresql",
                "db.clinic.example",
                Some(json!("verify-full")),
            ),
        ),
        ("pg-local", server("postgresql", "localhost", None)),
        ("my-unset", server("mysql", "db.clinic.example", None)),
        (
            "my-true",
            server("mysql", "db.clinic.example", Some(json!(true))),
        ),
        (
            "my-require",
            server("mysql", "db.clinic.example", Some(json!("require"))),
        ),
        (
            "lite",
            json!({"type": "sqlite", "database": "/tmp/x.db", "table": "patients",
                        "fieldMapping": {"fullName": "full_name"}}),
        ),
    ];
    for (name, database) in &rows {
        sqlx::query(
            "INSERT INTO integrations (id, name, kind, config, created_at, updated_at) \
                     VALUES (?, ?, 'database', ?, 0, 0)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(name)
        .bind(saved(name, database.clone()).to_string())
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let app = handoff_console::App::open(dir.path()).await.unwrap();
    let mode = |i: &handoff_console::integrations::Integration| {
        let db = i.config.database.as_ref().unwrap();
        (
            db.ssl.map(|s| serde_json::to_value(s).unwrap()),
            db.tls_mode().as_str(),
        )
    };
    let mut seen = Vec::new();
    for (name, _) in &rows {
        let i = app.integration(name).await.unwrap();
        seen.push((name.to_string(), mode(&i)));
    }
    let expected = [
        ("pg-unset", (Some(json!("prefer")), "prefer")),
        ("pg-true", (Some(json!("require")), "require")),
        ("pg-false", (Some(json!(false)), "disable")),
        ("pg-verify", (Some(json!("verify-full")), "verify-full")),
        ("pg-local", (Some(json!("prefer")), "prefer")),
        ("my-unset", (Some(json!("preferred")), "preferred")),
        ("my-true", (Some(json!("required")), "required")),
        ("my-require", (Some(json!("require")), "require")),
        ("lite", (None, "prefer")),
    ];
    let expected: Vec<(String, (Option<Value>, &str))> = expected
        .into_iter()
        .map(|(n, m)| (n.to_string(), m))
        .collect();
    assert_eq!(seen, expected);

    // A config saved now keeps `ssl` out and means verified TLS.
    let t = TestApp {
        app,
        dir,
        schema: None,
    };
    let added = t
        .add(saved(
            "pg-new",
            server("postgresql", "db.clinic.example", None),
        ))
        .await;
    assert_eq!(mode(&added), (None, "verify-full"));
}
