//! Config parsing and validation: seed configs import unchanged, every problem names its field.

use super::*;
use serde_json::json;

fn problems(config: serde_json::Value) -> Vec<String> {
    reasons(config)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

/// Every problem of a config as a save reports them (reading's and validation's, in one
/// list): `(field, reason)`.
fn reasons(config: serde_json::Value) -> Vec<(String, String)> {
    match read_config(&config.to_string(), None) {
        Ok(draft) => draft.validate().1,
        Err(ConfigError::Invalid(p)) => p,
        Err(ConfigError::Parse { field, reason }) => {
            vec![crate::error::FieldProblem { field, reason }]
        }
    }
    .into_iter()
    .map(|p| (p.field, p.reason))
    .collect()
}

/// The reason given for `field`.
fn reason_for(all: &[(String, String)], field: &str) -> String {
    all.iter()
        .find(|(f, _)| f == field)
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| panic!("no problem at {field}: {all:?}"))
}

fn api(api: serde_json::Value) -> serde_json::Value {
    json!({"name": "emr", "kind": "api", "fields": [{"name": "fullName", "type": "name"}], "api": api})
}

/// The seed's API example, verbatim.
const SEED_API: &str = r#"{
  "endpoint": "https://api.example.com/patients",
  "method": "POST",
  "headers": {"Content-Type": "application/json", "X-API-Version": "1.0"},
  "authentication": {"type": "bearer", "credentials": {"token": "your-api-token-here"}},
  "payloadStructure": {
    "patient_name": "{{fullName}}", "email": "{{email}}", "phone": "{{phoneNumber}}",
    "appointment_date": "{{appointmentDate}}", "notes": "{{additionalNotes}}", "created_at": "{{timestamp}}"
  }
}"#;

/// The seed's database example, verbatim.
const SEED_DB: &str = r#"{
  "type": "postgresql", "hostname": "localhost", "port": 5432, "database": "healthcare_db",
  "username": "app_user", "password": "encrypted_password", "table": "patient_data",
  "fieldMapping": {"fullName": "patient_name", "email": "email_address", "phoneNumber": "phone",
                   "appointmentDate": "appointment_date", "additionalNotes": "notes"}
}"#;

#[test]
fn a_bare_seed_api_config_imports_unchanged() {
    let config = validate(parse_config(SEED_API, Some("seed_api")).unwrap()).unwrap();
    assert_eq!(config.name, "seed_api");
    assert_eq!(config.kind, TargetKind::Api);
    let names: Vec<&str> = config.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fullName",
            "email",
            "phoneNumber",
            "appointmentDate",
            "additionalNotes"
        ]
    );
    assert!(
        config
            .fields
            .iter()
            .all(|f| f.field_type == FieldType::Text && !f.required)
    );
    assert_eq!(config.secret_slots(), [SecretSlot::ApiToken]);
}

#[test]
fn a_bare_seed_database_config_imports_unchanged() {
    let config = validate(parse_config(SEED_DB, Some("seed_db")).unwrap()).unwrap();
    let db = config.database.as_ref().unwrap();
    assert_eq!(db.db_type, DbType::Postgresql);
    assert_eq!(db.field_mapping["email"], "email_address");
    assert_eq!(config.fields.len(), 5);
    assert_eq!(config.secret_slots(), [SecretSlot::DatabasePassword]);
}

#[test]
fn an_empty_database_password_means_none() {
    let seed = SEED_DB.replace("\"encrypted_password\"", "\"\"");
    assert!(seed.contains("\"password\": \"\""), "{seed}");
    let mut config = validate(parse_config(&seed, Some("seed_db")).unwrap()).unwrap();
    assert_eq!(config.database.as_ref().unwrap().password, None);
    assert!(config.secret_slots().is_empty());
    assert!(config.take_secrets().is_empty(), "no secret to keep");
}

#[test]
fn a_bare_seed_config_needs_a_name() {
    let err = parse_config(SEED_API, None).unwrap_err();
    assert!(
        matches!(err, ConfigError::Parse { ref field, .. } if field == "name"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_named_with_their_path() {
    assert_eq!(
        problems(api(json!({"endpoint": "http://h/", "methd": "GET"}))),
        ["api.methd"]
    );
    let err = parse_config(
        &api(json!({"endpoint": "http://h/", "methd": "GET"})).to_string(),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown setting 'methd' (did you mean 'method'?)"),
        "{err}"
    );
    assert_eq!(
        problems(api(json!({"endpoint": "http://h/", "method": "PATCH"}))),
        ["api.method"]
    );
}

#[test]
fn api_problems_name_their_fields() {
    assert_eq!(
        problems(api(json!({"endpoint": "ftp://h/x"}))),
        ["api.endpoint"]
    );
    assert_eq!(
        problems(api(json!({"endpoint": "not a url"}))),
        ["api.endpoint"]
    );
    assert_eq!(
        problems(api(json!({"endpoint": "http://user:pw@h/"}))),
        ["api.endpoint"]
    );
    assert_eq!(
        problems(api(
            json!({"endpoint": "http://h/", "payloadStructure": {"x": "{{nope}}"}})
        )),
        ["api.payloadStructure"]
    );
    assert_eq!(
        problems(api(json!({"endpoint": "http://h/{{nope}}"}))),
        ["api.endpoint"]
    );
    assert_eq!(
        problems(api(json!({"endpoint": "http://h/", "timeoutMs": 5}))),
        ["api.timeoutMs"]
    );
    assert_eq!(
        problems(api(
            json!({"endpoint": "http://h/", "authentication": {"type": "basic", "credentials": {"username": "u"}}})
        )),
        ["api.authentication.credentials.password"]
    );
    assert_eq!(
        problems(api(
            json!({"endpoint": "http://h/", "authentication": {"type": "bearer", "credentials": {"token": "t", "key": "k"}}})
        )),
        ["api.authentication.credentials.key"]
    );
    assert_eq!(
        problems(api(
            json!({"endpoint": "http://h/", "headers": {"Bad Header": "x"}})
        )),
        ["api.headers.Bad Header"]
    );
    assert_eq!(
        problems(api(
            json!({"endpoint": "http://h/", "expect": {"status": [99], "requirePointer": "data"}})
        )),
        ["api.expect.status", "api.expect.requirePointer"]
    );
    assert_eq!(
        problems(api(
            json!({"endpoint": "http://h/", "method": "GET", "payloadStructure": ["{{fullName}}"]})
        )),
        ["api.payloadStructure"]
    );
    // Builtins and declared fields are fine.
    assert!(problems(api(json!({"endpoint": "http://h/{{sessionId}}", "payloadStructure": {"n": "{{fullName}}", "t": "{{timestamp}}"}}))).is_empty());
}

fn db(database: serde_json::Value) -> serde_json::Value {
    json!({"name": "db", "kind": "database", "fields": [{"name": "fullName", "type": "name"}], "database": database})
}

#[test]
fn database_problems_name_their_fields() {
    let good = json!({"type": "sqlite", "database": "/tmp/x.db", "table": "patient_data", "fieldMapping": {"fullName": "patient_name"}});
    assert!(problems(db(good.clone())).is_empty());
    let with = |k: &str, v: serde_json::Value| {
        let mut d = good.clone();
        d[k] = v;
        problems(db(d))
    };
    assert_eq!(
        with("table", json!("patients; DROP TABLE x")),
        ["database.table"]
    );
    assert_eq!(with("table", json!("a.b.c")), ["database.table"]);
    assert!(with("table", json!("clinic.patient_data")).is_empty());
    assert_eq!(
        with("fieldMapping", json!({"fullName": "a\"b"})),
        ["database.fieldMapping.fullName"]
    );
    assert_eq!(
        with("fieldMapping", json!({"ghost": "x"})),
        ["database.fieldMapping.ghost"]
    );
    assert_eq!(with("fieldMapping", json!({})), ["database.fieldMapping"]);
    assert_eq!(with("ssl", json!("sometimes")), ["database.ssl"]);
    assert_eq!(with("poolSize", json!(0)), ["database.poolSize"]);
    let pg = json!({"type": "postgresql", "database": "d", "table": "t", "fieldMapping": {"fullName": "c"}});
    assert_eq!(problems(db(pg)), ["database.hostname", "database.username"]);
}

fn server(db_type: &str, host: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut d = json!({"type": db_type, "hostname": host, "database": "d", "username": "u",
                       "table": "t", "fieldMapping": {"fullName": "c"}});
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    db(d)
}

fn tls_mode(config: serde_json::Value) -> &'static str {
    let config: IntegrationConfig = serde_json::from_value(config).unwrap();
    config.database.unwrap().tls_mode().as_str()
}

#[test]
fn tls_is_verified_by_default_off_this_machine_and_with_true() {
    let none = json!({});
    // Another machine: verified TLS unless a weaker mode is chosen.
    assert_eq!(
        tls_mode(server("postgresql", "db.clinic.example", none.clone())),
        "verify-full"
    );
    assert_eq!(
        tls_mode(server("mysql", "10.0.0.5", none.clone())),
        "verify_identity"
    );
    // This machine: prefer, as before (a local server rarely has a certificate for localhost).
    for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
        assert_eq!(tls_mode(server("postgresql", host, none.clone())), "prefer");
        assert_eq!(tls_mode(server("mysql", host, none.clone())), "preferred");
    }
    // A CA file asks for verification, wherever the server is.
    let ca = json!({"sslRootCert": "/etc/clinic/ca.pem"});
    assert_eq!(
        tls_mode(server("postgresql", "localhost", ca)),
        "verify-full"
    );
    // The seed's boolean: true is verified TLS, false none.
    let t = json!({"ssl": true});
    assert_eq!(
        tls_mode(server("postgresql", "db.clinic.example", t.clone())),
        "verify-full"
    );
    assert_eq!(tls_mode(server("mysql", "localhost", t)), "verify_identity");
    let f = json!({"ssl": false});
    assert_eq!(
        tls_mode(server("mysql", "db.clinic.example", f)),
        "disabled"
    );
    // A mode is kept as written, by either database's names.
    for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
        assert_eq!(
            tls_mode(server("postgresql", "db", json!({"ssl": mode}))),
            mode
        );
        assert_eq!(tls_mode(server("mysql", "db", json!({"ssl": mode}))), mode);
    }
    for mode in [
        "disabled",
        "preferred",
        "required",
        "verify_ca",
        "verify_identity",
    ] {
        assert_eq!(tls_mode(server("mysql", "db", json!({"ssl": mode}))), mode);
    }
}

#[test]
fn tls_settings_are_validated_by_each_databases_names() {
    let at = |config| problems(config);
    for mode in [
        "disabled",
        "preferred",
        "required",
        "verify_ca",
        "verify_identity",
        "require",
    ] {
        assert!(
            at(server("mysql", "db", json!({"ssl": mode}))).is_empty(),
            "{mode}"
        );
    }
    let r = reasons(server(
        "postgresql",
        "db",
        json!({"ssl": "verify_identity"}),
    ));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "database.ssl");
    assert!(
        r[0].1.contains(
            "is a MySQL mode; PostgreSQL's are disable, prefer, require, verify-ca, verify-full"
        ),
        "{r:?}"
    );
    let r = reasons(server("postgresql", "db", json!({"ssl": "sometimes"})));
    assert!(r[0].1.contains("verify_identity (MySQL/MariaDB)"), "{r:?}");

    // The CA file: an absolute path, with a mode that verifies.
    let ca = |extra: serde_json::Value| reasons(server("postgresql", "db.clinic.example", extra));
    assert!(ca(json!({"sslRootCert": "/etc/clinic/ca.pem"})).is_empty());
    assert!(ca(json!({"sslRootCert": "/etc/clinic/ca.pem", "ssl": "verify-ca"})).is_empty());
    let r = ca(json!({"sslRootCert": "/etc/clinic/ca.pem", "ssl": "require"}));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "database.sslRootCert");
    assert!(
        r[0].1
            .contains("database.ssl \"require\" does not verify it"),
        "{r:?}"
    );
    assert_eq!(
        ca(json!({"sslRootCert": "ca.pem"}))[0].0,
        "database.sslRootCert"
    );
    assert!(
        ca(json!({"sslRootCert": "/etc/ca.pem\n"}))[0]
            .1
            .contains("control characters")
    );
    let sqlite = db(
        json!({"type": "sqlite", "database": "/tmp/x.db", "table": "t",
                           "fieldMapping": {"fullName": "c"}, "sslRootCert": "/etc/ca.pem"}),
    );
    assert_eq!(problems(sqlite), ["database.sslRootCert"]);
}

#[test]
fn a_stored_password_follows_only_to_as_strict_tls_and_the_same_ca() {
    let section = |extra: serde_json::Value| -> DatabaseConfig {
        let config: IntegrationConfig =
            serde_json::from_value(server("postgresql", "db.clinic.example", extra)).unwrap();
        config.database.unwrap()
    };
    let stored = section(json!({"ssl": "require"}));
    assert!(stored.same_server(&section(json!({}))));
    assert!(stored.same_server(&section(json!({"ssl": "verify-ca"}))));
    assert!(!stored.same_server(&section(json!({"ssl": "prefer"}))));
    let with_ca = section(json!({"sslRootCert": "/etc/a.pem"}));
    assert!(with_ca.same_server(&section(json!({"sslRootCert": "/etc/a.pem"}))));
    // Another CA file could vouch for another server.
    assert!(!with_ca.same_server(&section(json!({"sslRootCert": "/tmp/b.pem"}))));
}

#[test]
fn field_schema_problems_are_reported() {
    let config = json!({"name": "x", "kind": "api", "api": {"endpoint": "http://h/"},
        "fields": [{"name": "a", "type": "enum"}, {"name": "a", "type": "text"}, {"name": "1b", "type": "text"},
                   {"name": "t", "type": "text", "values": ["x"]}, {"name": "timestamp", "type": "text"}]});
    assert_eq!(
        problems(config),
        [
            "fields[0].values",
            "fields[1].name",
            "fields[2].name",
            "fields[3].values",
            "fields[4].name"
        ]
    );
    assert_eq!(
        problems(json!({"name": " ", "kind": "api", "api": {"endpoint": "http://h/"}})),
        ["name"]
    );
    assert_eq!(problems(json!({"name": "x", "kind": "api"})), ["api"]);
    assert_eq!(
        problems(
            json!({"name": "x", "kind": "api", "api": {"endpoint": "http://h/"}, "retry": {"maxAttempts": 0}})
        ),
        ["retry.maxAttempts"]
    );
}

#[test]
fn secrets_are_taken_out_and_the_mask_means_keep() {
    let mut config = validate(parse_config(SEED_API, Some("s")).unwrap()).unwrap();
    let taken = config.take_secrets();
    assert_eq!(
        taken,
        [(SecretSlot::ApiToken, "your-api-token-here".to_string())]
    );
    let stored = serde_json::to_string(&config).unwrap();
    assert!(!stored.contains("your-api-token-here"));
    assert!(stored.contains(SECRET_MASK));
    // Taking again from the masked config yields nothing: the mask keeps the stored value.
    assert!(config.take_secrets().is_empty());
    assert_eq!(config.secret_slots(), [SecretSlot::ApiToken]);
}

#[test]
fn health_check_requests_are_optional_and_their_path_is_checked() {
    let config = validate(
        parse_config(
            &api(json!({"endpoint": "https://h/p", "healthCheck": {"path": "/health"}}))
                .to_string(),
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let health = config.api.unwrap().health_check.unwrap();
    assert_eq!(health.method, HealthMethod::Get);
    assert_eq!(health.path, "/health");
    for (check, field) in [
        (json!({"path": "health"}), "api.healthCheck.path"),
        (json!({"path": "//evil.example/x"}), ""),
        (json!({"path": "/a b"}), "api.healthCheck.path"),
        (json!({"path": "/x#frag"}), "api.healthCheck.path"),
        (json!({"path": "/p/{{fullName}}"}), "api.healthCheck.path"),
        (json!({"method": "HEAD", "path": "/status?full=1"}), ""),
        (
            json!({"method": "PATCH", "path": "/h"}),
            "api.healthCheck.method",
        ),
        (json!({"path": "/h", "body": {}}), "api.healthCheck"),
    ] {
        let got = problems(api(
            json!({"endpoint": "https://h/p", "healthCheck": check}),
        ));
        if field.is_empty() {
            assert!(got.is_empty(), "{check}: {got:?}");
        } else {
            assert!(got.iter().any(|f| f.starts_with(field)), "{check}: {got:?}");
        }
    }
}

#[test]
fn every_problem_of_a_config_is_reported_at_once() {
    // A bad timeout (wrong type), an out-of-range retry count, a bad URL, a misspelt setting
    // and an unknown method: one pass finds them all.
    let all = reasons(json!({
        "name": "emr", "kind": "api",
        "fields": [{"name": "fullName", "type": "name"}],
        "api": {"endpoint": "example.com/patients", "timeoutMs": "abc", "methd": "POST",
                "connectTimeoutMs": -5, "expect": {"status": [200, "ok"]}},
        "retry": {"maxAttempts": 99, "baseDelayMs": 1.5}
    }));
    let fields: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "api.timeoutMs",
            "api.methd",
            "api.connectTimeoutMs",
            "api.expect.status[1]",
            "retry.baseDelayMs",
            "api.endpoint",
            "retry.maxAttempts"
        ],
        "{all:?}"
    );
    assert_eq!(
        reason_for(&all, "api.timeoutMs"),
        "must be a whole number, 0 or more (got text \"abc\")"
    );
    assert_eq!(
        reason_for(&all, "api.methd"),
        "unknown setting 'methd' (did you mean 'method'?)"
    );
    assert_eq!(
        reason_for(&all, "api.connectTimeoutMs"),
        "must be a whole number, 0 or more (got -5)"
    );
    assert_eq!(
        reason_for(&all, "api.expect.status[1]"),
        "must be a whole number from 0 to 65535 (got text \"ok\")"
    );
    assert_eq!(
        reason_for(&all, "api.endpoint"),
        "not a valid URL: it needs http:// or https://"
    );
    assert!(
        reason_for(&all, "retry.maxAttempts").contains("from 1 to 50"),
        "{all:?}"
    );
    // None of them is parser output.
    for (_, r) in &all {
        assert!(
            !r.contains("invalid type") && !r.contains("u64") && !r.contains('`'),
            "{r}"
        );
    }
}

#[test]
fn a_required_value_that_cannot_be_read_is_reported_once_and_the_rest_still_checked() {
    let all = reasons(json!({
        "name": "emr", "kind": "api",
        "api": {"endpoint": 5, "method": "PATCH"},
        "retry": {"maxAttempts": 0}
    }));
    assert_eq!(
        all.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["api.endpoint", "api.method", "retry.maxAttempts"],
        "{all:?}"
    );
    assert_eq!(reason_for(&all, "api.endpoint"), "must be text (got 5)");
    assert_eq!(
        reason_for(&all, "api.method"),
        "must be one of GET, POST, PUT, DELETE (got text \"PATCH\")"
    );
    // A missing one is "required", once.
    let all = reasons(json!({"kind": "api", "api": {"endpoint": "http://h/"}}));
    assert_eq!(all, [("name".to_string(), "is required".to_string())]);
    // A port out of range says what a port is.
    let all = reasons(db(
        json!({"type": "postgresql", "hostname": "h", "port": 70000,
                               "username": "u", "database": "d", "table": "t",
                               "fieldMapping": {"fullName": "c"}}),
    ));
    assert_eq!(
        all,
        [(
            "database.port".to_string(),
            "must be a port number from 1 to 65535 (got 70000)".to_string()
        )]
    );
    // A choice given as a number says its options too.
    let all =
        reasons(json!({"name": "x", "kind": "api", "api": {"endpoint": "http://h/", "method": 3}}));
    assert_eq!(
        reason_for(&all, "api.method"),
        "must be one of GET, POST, PUT, DELETE (got 3)"
    );
}

#[test]
fn paths_keep_the_indices_of_the_text_when_an_element_is_left_out() {
    let all = reasons(json!({
        "name": "x", "kind": "api", "api": {"endpoint": "http://h/{{b}}/{{zz}}"},
        "fields": [{"name": "a", "type": "text"}, "not a field", {"name": "9 b", "type": "text"},
                   {"name": "b", "type": "colour"}]
    }));
    let fields: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "fields[1]",
            "fields[3].type",
            "fields[2].name",
            "api.endpoint"
        ],
        "{all:?}"
    );
    assert!(
        reason_for(&all, "fields[3].type").starts_with("must be one of text, name, first_name"),
        "{all:?}"
    );
}

#[test]
fn a_section_whose_type_is_unknown_is_not_checked_further() {
    // With no telling which database it is, its host and user are not asked for; the rest of
    // the config still is.
    let all = reasons(json!({
        "name": "db", "kind": "database",
        "database": {"type": "oracle", "database": "d", "table": "t", "fieldMapping": {"a": "a"}},
        "retry": {"baseDelayMs": 1}
    }));
    assert_eq!(
        all.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["database.type", "retry.baseDelayMs"],
        "{all:?}"
    );
    assert_eq!(
        reason_for(&all, "database.type"),
        "must be one of postgres, postgresql, mariadb, mysql, sqlite (got text \"oracle\")"
    );
    // A kind that cannot be read follows the section given.
    let all = reasons(json!({"name": "x", "kind": "API", "api": {"endpoint": "ftp://h/"}}));
    assert_eq!(
        all.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["kind", "api.endpoint"],
        "{all:?}"
    );
}

#[test]
fn text_that_is_not_json_is_the_only_problem() {
    let err = read_config("{\"name\": \"x\", \"kind\": \"api\",}", None).unwrap_err();
    match err {
        ConfigError::Parse { field, reason } => {
            assert_eq!(field, "(config)");
            assert!(
                reason.starts_with("is not valid JSON: a comma before"),
                "{reason}"
            );
            assert!(reason.contains("line 1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_credential_of_the_wrong_type_is_never_quoted() {
    let all = reasons(json!({
        "name": "x", "kind": "api",
        "api": {"endpoint": "http://h/", "headers": {"X-Api-Key": 918273645},
                "authentication": {"type": "bearer", "credentials": {"token": 5647382910u64}}}
    }));
    assert!(!all.is_empty());
    for (_, r) in &all {
        assert!(!r.contains("918273645") && !r.contains("5647382910"), "{r}");
    }
    assert_eq!(
        reason_for(&all, "api.headers.X-Api-Key"),
        "must be text (got a number)"
    );
}

#[test]
fn url_problems_are_in_plain_words() {
    let reason =
        |endpoint: &str| reason_for(&reasons(api(json!({"endpoint": endpoint}))), "api.endpoint");
    assert_eq!(
        reason("not a url"),
        "not a valid URL: it needs http:// or https://"
    );
    assert_eq!(
        reason("ftp://h/x"),
        "not a valid URL: it needs http:// or https:// (it starts with ftp:)"
    );
    assert_eq!(reason("https://"), "not a valid URL: the host is missing");
    assert_eq!(
        reason("http://h:99999/"),
        "not a valid URL: the port must be a number from 1 to 65535"
    );
    assert!(reason("http://exa mple.com/").starts_with("not a valid URL: the host name has"));
    assert!(reason("").starts_with("is required"));
    // The URL itself is not repeated (a key may sit in its query).
    assert!(!reason("nope?api_key=s3cret").contains("s3cret"));
}

#[test]
fn fixed_values_take_plain_columns_not_mapped_and_plain_values() {
    let good = json!({"type": "sqlite", "database": "/tmp/x.db", "table": "t",
                      "fieldMapping": {"fullName": "patient_name"},
                      "fixedValues": {"clinic_code": "C-42", "site_no": 7, "urgent": true}});
    assert!(problems(db(good.clone())).is_empty());
    let with = |fixed: serde_json::Value| {
        let mut d = good.clone();
        d["fixedValues"] = fixed;
        reasons(db(d))
    };
    let all = with(
        json!({"bad col": 1, "Patient_Name": "x", "nested": {"a": 1},
                          "list": [1], "none": null, "long": "x".repeat(1001)}),
    );
    assert_eq!(
        all.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [
            "database.fixedValues.Patient_Name",
            "database.fixedValues.bad col",
            "database.fixedValues.list",
            "database.fixedValues.long",
            "database.fixedValues.nested",
            "database.fixedValues.none"
        ],
        "{all:?}"
    );
    assert!(
        reason_for(&all, "database.fixedValues.Patient_Name")
            .contains("filled by field 'fullName'")
    );
    assert_eq!(
        reason_for(&all, "database.fixedValues.nested"),
        "must be text, a number or true/false (got an object)"
    );
    assert!(reason_for(&all, "database.fixedValues.long").contains("1000 characters"));
    let many: serde_json::Map<String, serde_json::Value> =
        (0..51).map(|n| (format!("c{n}"), json!(n))).collect();
    assert_eq!(
        problems(db({
            let mut d = good.clone();
            d["fixedValues"] = serde_json::Value::Object(many);
            d
        })),
        ["database.fixedValues"]
    );
    // Saved as given; absent when there are none.
    let config = validate(parse_config(&db(good).to_string(), None).unwrap()).unwrap();
    let saved = serde_json::to_value(&config).unwrap();
    assert_eq!(saved["database"]["fixedValues"]["site_no"], 7);
    let config = validate(
        parse_config(
            &db(
                json!({"type": "sqlite", "database": "/tmp/x.db", "table": "t",
                       "fieldMapping": {"fullName": "patient_name"}}),
            )
            .to_string(),
            None,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        serde_json::to_value(&config).unwrap()["database"]
            .get("fixedValues")
            .is_none()
    );
}

#[test]
fn health_settings_are_optional_bounded_and_named_by_path() {
    let config = validate(
        parse_config(
            &json!({"name": "emr", "kind": "api", "api": {"endpoint": "https://h/p"},
                    "health": {"windowHours": 48}})
            .to_string(),
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let settings = config.health_settings();
    assert_eq!(settings.window_hours(), 48);
    assert_eq!(settings.failures_for_error(), 3);
    assert_eq!(settings.recent_deliveries(), 20);
    // Absent keys stay absent when stored, so a later change of a default applies.
    let stored = serde_json::to_value(&config).unwrap();
    assert_eq!(stored["health"], json!({"windowHours": 48}));
    let bare =
        validate(parse_config(&api(json!({"endpoint": "https://h/p"})).to_string(), None).unwrap())
            .unwrap();
    assert!(serde_json::to_value(&bare).unwrap().get("health").is_none());
    assert_eq!(bare.health_settings(), HealthSettings::default());

    let with = |health: serde_json::Value| {
        let mut c = api(json!({"endpoint": "https://h/p"}));
        c["health"] = health;
        problems(c)
    };
    assert_eq!(
        with(json!({"failuresForError": 0})),
        ["health.failuresForError"]
    );
    assert_eq!(
        with(json!({"failuresForError": 21})),
        ["health.failuresForError"]
    );
    assert_eq!(
        with(json!({"recentDeliveries": 501})),
        ["health.recentDeliveries"]
    );
    assert_eq!(with(json!({"windowHours": 0})), ["health.windowHours"]);
    assert_eq!(with(json!({"windowHours": 721})), ["health.windowHours"]);
    assert_eq!(
        with(json!({"failuresForError": 5, "recentDeliveries": 4})),
        ["health.failuresForError"]
    );
    assert!(
        with(json!({"failuresForError": 20, "recentDeliveries": 500, "windowHours": 720}))
            .is_empty()
    );
    assert!(
        with(json!({"failuresForError": 1, "recentDeliveries": 1, "windowHours": 1})).is_empty()
    );
    let unknown = with(json!({"threshold": 2}));
    assert!(
        unknown.iter().any(|f| f.starts_with("health")),
        "{unknown:?}"
    );
}

#[test]
fn a_utf8_byte_order_mark_at_the_start_is_accepted() {
    let text = format!("\u{feff}{SEED_API}");
    let config = validate(parse_config(&text, Some("seed_api")).unwrap()).unwrap();
    assert_eq!(config.name, "seed_api");
    let envelope = format!("\u{feff}{}", api(json!({"endpoint": "https://h/p"})));
    assert!(parse_config(&envelope, None).is_ok());
}

#[test]
fn keys_given_twice_are_named_with_their_path_beside_the_other_problems() {
    let text = r#"{"name": "emr", "kind": "api", "name": "emr2",
        "fields": [{"name": "a", "type": "text", "type": "email"}],
        "api": {"endpoint": "https://h/p", "method": "POST", "method": "GET",
                "headers": {"X-Key": "1", "X-Key": "2"}, "timeoutMs": 1}}"#;
    let problems = match read_config(text, None) {
        Ok(draft) => draft.validate().1,
        Err(e) => panic!("{e}"),
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "fields[0].type",
            "api.method",
            "api.headers.X-Key",
            "api.timeoutMs"
        ],
        "{problems:?}"
    );
    assert!(
        problems[0]
            .reason
            .starts_with("is given more than once in the same object"),
        "{problems:?}"
    );
    assert!(parse_config(text, None).is_err());
    // A bare seed config's paths are the envelope's.
    let seed = r#"{"endpoint": "https://h/p", "method": "POST", "method": "PUT"}"#;
    match parse_config(seed, Some("seed")) {
        Err(ConfigError::Invalid(p)) => {
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].field, "api.method");
        }
        other => panic!("{other:?}"),
    }
    // The same key in different objects is no duplicate.
    let fine = r#"{"name": "x", "kind": "api", "fields": [{"name": "a", "type": "text"},
        {"name": "b", "type": "text"}], "api": {"endpoint": "https://h/p"}}"#;
    assert!(parse_config(fine, None).is_ok());
}

#[test]
fn control_characters_in_endpoints_headers_and_credentials_are_refused_unquoted() {
    let all = reasons(api(json!({
        "endpoint": "https://h/p\r\nX-Injected: 1",
        "headers": {"X-Trace": "a\tb", "X-Client-Secret": "s3cr3t\r\nX: y", "X\nY": "v"},
        "authentication": {"type": "bearer", "credentials": {"token": "tok\nX-Admin: 1"}}
    })));
    let fields: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "api.endpoint",
            "api.headers.X\nY",
            "api.headers.X-Client-Secret",
            "api.headers.X-Trace",
            "api.authentication.credentials.token"
        ],
        "{all:?}"
    );
    for (field, reason) in &all {
        if field != "api.headers.X\nY" {
            assert!(reason.contains("control characters"), "{field}: {reason}");
        }
        assert!(
            !reason.contains("s3cr3t") && !reason.contains("tok"),
            "{reason}"
        );
    }
    // A tab alone (which a header could carry) is refused too, and so is a trailing newline.
    assert_eq!(
        problems(api(json!({"endpoint": "https://h/p\n"}))),
        ["api.endpoint"]
    );
    assert_eq!(
        endpoint_problem("https://h/\tp").as_deref(),
        Some("must not contain control characters (a line break or a tab, for example)")
    );
    // The database's host, user and name too.
    let d = json!({"type": "postgresql", "hostname": "db\n", "username": "app\t",
                   "database": "rec\u{0}", "table": "t", "fieldMapping": {"fullName": "c"}});
    assert_eq!(
        problems(db(d)),
        [
            "database.hostname",
            "database.username",
            "database.database"
        ]
    );
}

#[test]
fn template_syntax_the_console_does_not_have_is_refused_where_it_would_be_sent() {
    let all = reasons(json!({"name": "emr", "kind": "api",
        "fields": [{"name": "fullName", "type": "name"}, {"name": "items", "type": "text"}],
        "api": {"endpoint": "https://h/p/{{fullName | slug}}",
                "headers": {"X-Session": "{{sessionId}}"},
                "payloadStructure": {"name": "{{ fullName }}", "upper": "{{fullName | upper}}",
                                     "list": ["{{#each items}}", "{{this}}", "{{/each}}"],
                                     "open": "Dear {{fullName"}}}));
    let fields: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "api.endpoint",
            "api.headers.X-Session",
            "api.payloadStructure.upper",
            "api.payloadStructure.list[0]",
            "api.payloadStructure.list[2]",
            "api.payloadStructure.open",
            "api.payloadStructure"
        ],
        "{all:?}"
    );
    assert!(reason_for(&all, "api.endpoint").contains("is a filter ('|')"));
    assert!(reason_for(&all, "api.headers.X-Session").contains("headers take no placeholders"));
    assert!(reason_for(&all, "api.payloadStructure.open").contains("never closed"));
    // {{this}} is a placeholder by its form, and names no field.
    assert!(reason_for(&all, "api.payloadStructure").contains("unknown placeholder {{this}}"));
    // Fixed values are stored as written: a placeholder there is refused too.
    let fixed = reasons(db(
        json!({"type": "sqlite", "database": "/tmp/x.db", "table": "t",
        "fieldMapping": {"fullName": "c"}, "fixedValues": {"source": "{{sessionId}}"}}),
    ));
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert!(
        fixed[0].1.contains("fixed values take no placeholders"),
        "{fixed:?}"
    );
}
