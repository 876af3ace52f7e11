//! Database checks against SQLite files (always), PostgreSQL (`HANDOFF_TEST_PG_URL`) and
//! MariaDB/MySQL (`HANDOFF_TEST_MYSQL_URL`): healthy and broken set-ups.
use super::*;

#[tokio::test]
async fn a_healthy_sqlite_target_passes_every_check() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE patients (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, \
         visit DATE, flag BOOLEAN, created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            .into(),
    )
    .await;
    let t = TestApp::new().await;
    t.add(db_config(
        "clinic-sqlite",
        json!([{"name": "fullName", "type": "name", "required": true},
               {"name": "visitDate", "type": "date"}, {"name": "flag", "type": "boolean"}]),
        json!({"type": "sqlite", "database": path, "table": "patients",
               "fieldMapping": {"fullName": "name", "visitDate": "visit", "flag": "flag"}}),
    ))
    .await;
    let report = t.app.health(Some("clinic-sqlite"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_eq!(
        names(i),
        [
            "connect",
            "query",
            "table",
            "columns",
            "requiredColumns",
            "idempotency",
            "insertPrivilege",
            "deliveries",
            "endToEnd"
        ]
    );
    assert_all_healthy(i);
    assert_eq!(
        check(i, "endToEnd").reason.as_deref(),
        Some("a sample row was inserted and rolled back (nothing was kept)")
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "health checks never write");
}

#[tokio::test]
async fn a_sample_row_the_table_refuses_is_a_warning_and_leaves_nothing_behind() {
    let (_dir, path, pool) = common_db::sqlite().await;
    // Generated names are longer than this table allows: real ones may not be.
    exec(
        &pool,
        "CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) <= 3))"
            .into(),
    )
    .await;
    let t = TestApp::new().await;
    t.add(db_config(
        "short-names",
        json!([{"name": "fullName", "type": "name", "required": true}]),
        json!({"type": "sqlite", "database": path, "table": "patients",
               "fieldMapping": {"fullName": "name"}}),
    ))
    .await;
    let report = t.app.health(Some("short-names"), TIMEOUT).await.unwrap();
    let i = only(&report);
    let e2e = check(i, "endToEnd");
    assert_status(e2e, HealthStatus::Warning);
    let reason = e2e.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("refused a sample row"), "{reason}");
    assert_eq!(i.status, HealthStatus::Warning);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "the sample row was rolled back");
}

#[tokio::test]
async fn a_missing_sqlite_table_is_an_error_and_the_checks_on_it_are_not_run() {
    let (_dir, path, _pool) = common_db::sqlite().await;
    let t = TestApp::new().await;
    t.add(db_config(
        "no-table",
        json!([{"name": "fullName", "type": "name", "required": true}]),
        json!({"type": "sqlite", "database": path, "table": "patients",
               "fieldMapping": {"fullName": "name"}}),
    ))
    .await;
    let report = t.app.health(Some("no-table"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_status(check(i, "connect"), HealthStatus::Healthy);
    let table = check(i, "table");
    assert_status(table, HealthStatus::Error);
    assert!(reason(table).contains("patients"), "{}", reason(table));
    for name in [
        "columns",
        "requiredColumns",
        "idempotency",
        "insertPrivilege",
        "endToEnd",
    ] {
        assert_eq!(reason(check(i, name)), "not run: table failed", "{name}");
    }
}

#[tokio::test]
async fn a_missing_sqlite_file_is_a_connect_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let t = TestApp::new().await;
    t.add(db_config(
        "absent",
        json!([{"name": "a", "type": "text"}]),
        json!({"type": "sqlite", "database": path.to_str().unwrap(), "table": "t",
               "fieldMapping": {"a": "a"}}),
    ))
    .await;
    let report = t.app.health(Some("absent"), TIMEOUT).await.unwrap();
    let i = only(&report);
    let connect = check(i, "connect");
    assert_status(connect, HealthStatus::Error);
    assert!(
        reason(connect).contains("does not exist"),
        "{}",
        reason(connect)
    );
    assert_eq!(
        reason(check(i, "insertPrivilege")),
        "not run: connect failed"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn sqlite_columns_that_do_not_fit_or_are_missing_or_unmapped_are_named() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, name TEXT NOT NULL, visit BOOLEAN, \
         ssn TEXT NOT NULL, zip INTEGER, note TEXT NOT NULL)"
            .into(),
    )
    .await;
    let t = TestApp::new().await;
    t.add(db_config(
        "broken-sqlite",
        json!([{"name": "fullName", "type": "name", "required": true},
               {"name": "visitDate", "type": "date"}, {"name": "zip", "type": "postal_code"},
               {"name": "phone", "type": "phone"}, {"name": "note", "type": "text"}]),
        json!({"type": "sqlite", "database": path, "table": "visits",
               "fieldMapping": {"fullName": "name", "visitDate": "visit", "zip": "zip",
                                "phone": "phone_number", "note": "note"}}),
    ))
    .await;
    let report = t.app.health(Some("broken-sqlite"), TIMEOUT).await.unwrap();
    let i = only(&report);
    let columns = check(i, "columns");
    assert_status(columns, HealthStatus::Error);
    let r = reason(columns);
    assert!(
        r.contains("column 'phone_number' (field 'phone') does not exist"),
        "{r}"
    );
    assert!(
        r.contains("field 'visitDate' (date) cannot be stored in column visit"),
        "{r}"
    );
    assert!(
        r.contains("field 'zip' (postal_code) may not fit column zip"),
        "{r}"
    );
    let required = check(i, "requiredColumns");
    assert_status(required, HealthStatus::Error);
    assert!(
        reason(required).contains("column(s) ssn of visits"),
        "{}",
        reason(required)
    );
    // The columns' problems do not stop the privilege check.
    assert_status(check(i, "insertPrivilege"), HealthStatus::Healthy);
}

#[tokio::test]
async fn an_optional_field_into_a_not_null_column_is_a_warning() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(&pool, "CREATE TABLE t (name TEXT NOT NULL)".into()).await;
    let t = TestApp::new().await;
    t.add(db_config(
        "optional",
        json!([{"name": "fullName", "type": "name"}]),
        json!({"type": "sqlite", "database": path, "table": "t",
               "fieldMapping": {"fullName": "name"}}),
    ))
    .await;
    let report = t.app.health(Some("optional"), TIMEOUT).await.unwrap();
    let i = only(&report);
    let required = check(i, "requiredColumns");
    assert_status(required, HealthStatus::Warning);
    assert!(
        reason(required).contains("'fullName' (column name)"),
        "{}",
        reason(required)
    );
    assert_eq!(i.status, HealthStatus::Warning);
}

#[tokio::test]
async fn postgres_healthy_and_broken_tables() {
    let pg = common_db::postgres().await;
    let s = suffix();
    let (ok, broken) = (format!("hc_ok_{s}"), format!("hc_broken_{s}"));
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {ok} (id serial PRIMARY KEY, full_name text NOT NULL, visit date,
               age integer, flag boolean, created_at timestamptz NOT NULL DEFAULT now(),
               code integer GENERATED ALWAYS AS IDENTITY);
             CREATE TABLE {broken} (id bigint GENERATED BY DEFAULT AS IDENTITY, full_name text NOT NULL,
               visit integer, ssn text NOT NULL, active integer)"
        ),
    )
    .await;
    let fields = json!([{"name": "fullName", "type": "name", "required": true},
                        {"name": "visitDate", "type": "date"}, {"name": "age", "type": "integer"},
                        {"name": "flag", "type": "boolean"}, {"name": "notes", "type": "text"}]);
    let body = async {
        let t = TestApp::new().await;
        t.add(db_config(
            "pg-ok",
            fields.clone(),
            pg.config(
                "postgresql",
                &ok,
                json!({"fullName": "full_name", "visitDate": "visit", "age": "age", "flag": "flag"}),
            ),
        ))
        .await;
        t.add(db_config(
            "pg-broken",
            fields.clone(),
            pg.config(
                "postgresql",
                &broken,
                json!({"fullName": "full_name", "visitDate": "visit", "flag": "active",
                       "notes": "notes"}),
            ),
        ))
        .await;
        t.add(db_config(
            "pg-absent",
            fields.clone(),
            pg.config(
                "postgresql",
                &format!("hc_absent_{s}"),
                json!({"fullName": "full_name"}),
            ),
        ))
        .await;
        let report = t.app.health(None, TIMEOUT).await.unwrap();
        let find = |name: &str| report.integrations.iter().find(|i| i.name == name).unwrap();

        let healthy = find("pg-ok");
        assert_eq!(
            names(healthy),
            [
                "connect",
                "authenticate",
                "query",
                "tls",
                "table",
                "columns",
                "requiredColumns",
                "idempotency",
                "insertPrivilege",
                "deliveries",
                "endToEnd"
            ]
        );
        // Encrypted, or on loopback where it is not needed: healthy either way.
        assert_all_healthy(healthy);

        let broken_i = find("pg-broken");
        let columns = check(broken_i, "columns");
        assert_status(columns, HealthStatus::Error);
        let r = reason(columns);
        assert!(
            r.contains("column 'notes' (field 'notes') does not exist"),
            "{r}"
        );
        assert!(
            r.contains("field 'visitDate' (date) cannot be stored in column visit (integer"),
            "{r}"
        );
        // Delivery converts a boolean only into a boolean column (convert.rs), so this is named.
        assert!(
            r.contains("field 'flag' (boolean) cannot be stored in column active"),
            "{r}"
        );
        let required = check(broken_i, "requiredColumns");
        assert_status(required, HealthStatus::Error);
        assert!(
            reason(required).contains("column(s) ssn"),
            "{}",
            reason(required)
        );

        let absent = find("pg-absent");
        let table = check(absent, "table");
        assert_status(table, HealthStatus::Error);
        assert!(reason(table).contains("was not found"), "{}", reason(table));
        for later in ["columns", "requiredColumns", "insertPrivilege"] {
            assert_eq!(reason(check(absent, later)), "not run: table failed");
        }
    };
    cleanly(
        body,
        exec(&pg.pool, format!("DROP TABLE {ok}; DROP TABLE {broken}")),
    )
    .await;
}

#[tokio::test]
async fn postgres_without_insert_privilege_is_an_error() {
    let pg = common_db::postgres().await;
    let s = suffix();
    let (table, role) = (format!("hc_ro_{s}"), format!("hc_ro_user_{s}"));
    // Trust auth lets the new role log in without a password.
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {table} (id serial PRIMARY KEY, full_name text);
             CREATE ROLE {role} LOGIN; GRANT SELECT ON {table} TO {role}"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        let mut database = pg.config("postgresql", &table, json!({"fullName": "full_name"}));
        database["username"] = json!(role);
        t.add(db_config(
            "pg-ro",
            json!([{"name": "fullName", "type": "name"}]),
            database,
        ))
        .await;
        let report = t.app.health(Some("pg-ro"), TIMEOUT).await.unwrap();
        let i = only(&report);
        assert_status(check(i, "table"), HealthStatus::Healthy);
        let privilege = check(i, "insertPrivilege");
        assert_status(privilege, HealthStatus::Error);
        assert!(
            reason(privilege).contains(&format!("user '{role}' may not insert into")),
            "{}",
            reason(privilege)
        );
    };
    cleanly(
        body,
        exec(&pg.pool, format!("DROP TABLE {table}; DROP ROLE {role}")),
    )
    .await;
}

#[tokio::test]
async fn postgres_unreachable_hosts_are_connect_errors() {
    let t = TestApp::new().await;
    let port = closed_port();
    let database = |host: &str, port: u16| {
        json!({"type": "postgresql", "hostname": host, "port": port, "database": "d",
               "username": "u", "table": "t", "fieldMapping": {"a": "a"}})
    };
    t.add(db_config(
        "refused",
        json!([{"name": "a", "type": "text"}]),
        database("127.0.0.1", port),
    ))
    .await;
    t.add(db_config(
        "unknown-host",
        json!([{"name": "a", "type": "text"}]),
        database("nonexistent.invalid", 5432),
    ))
    .await;
    let report = t.app.health(None, TIMEOUT).await.unwrap();
    let find = |name: &str| report.integrations.iter().find(|i| i.name == name).unwrap();
    let refused = check(find("refused"), "connect");
    assert_status(refused, HealthStatus::Error);
    assert!(
        reason(refused).contains(&format!(
            "could not connect to 127.0.0.1:{port}: connection refused"
        )),
        "{}",
        reason(refused)
    );
    assert_eq!(
        reason(check(find("refused"), "authenticate")),
        "not run: connect failed"
    );
    let unknown = check(find("unknown-host"), "connect");
    assert_status(unknown, HealthStatus::Error);
    assert!(
        reason(unknown).contains("could not find the host 'nonexistent.invalid'"),
        "{}",
        reason(unknown)
    );
}

/// MariaDB: a user with a password and the given grant on one table; `DROP USER` afterwards.
async fn mysql_user(my: &common_db::Server<sqlx::MySqlPool>, user: &str, grant: &str, table: &str) {
    exec(
        &my.pool,
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'right-pass-{user}'"),
    )
    .await;
    exec(
        &my.pool,
        format!(
            "GRANT {grant} ON `{}`.`{table}` TO '{user}'@'%'",
            my.database
        ),
    )
    .await;
}

fn mysql_database(
    my: &common_db::Server<sqlx::MySqlPool>,
    table: &str,
    user: &str,
    password: &str,
) -> Value {
    let mut database = my.config("mysql", table, json!({"fullName": "full_name"}));
    database["username"] = json!(user);
    database["password"] = json!(password);
    database
}

#[tokio::test]
async fn mysql_healthy_wrong_password_and_no_insert_privilege() {
    let my = common_db::mysql().await;
    let s = suffix();
    let table = format!("hc_my_{s}");
    let (writer, reader) = (format!("hc_w_{s}"), format!("hc_r_{s}"));
    exec(
        &my.pool,
        format!("CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, full_name VARCHAR(100) NOT NULL)"),
    )
    .await;
    mysql_user(&my, &writer, "SELECT, INSERT", &table).await;
    mysql_user(&my, &reader, "SELECT", &table).await;
    let body = async {
        let t = TestApp::new().await;
        let fields = json!([{"name": "fullName", "type": "name", "required": true}]);
        t.add(db_config(
            "my-ok",
            fields.clone(),
            mysql_database(&my, &table, &writer, &format!("right-pass-{writer}")),
        ))
        .await;
        // PostgreSQL here trusts every local login, so a wrong password is tried on MariaDB.
        t.add(db_config(
            "my-wrong-password",
            fields.clone(),
            mysql_database(&my, &table, &writer, "wrong-pass-123"),
        ))
        .await;
        t.add(db_config(
            "my-read-only",
            fields.clone(),
            mysql_database(&my, &table, &reader, &format!("right-pass-{reader}")),
        ))
        .await;
        let report = t.app.health(None, TIMEOUT).await.unwrap();
        let find = |name: &str| report.integrations.iter().find(|i| i.name == name).unwrap();

        let ok = find("my-ok");
        assert_eq!(
            names(ok),
            [
                "connect",
                "authenticate",
                "query",
                "tls",
                "table",
                "columns",
                "requiredColumns",
                "idempotency",
                "insertPrivilege",
                "deliveries",
                "endToEnd"
            ]
        );
        assert_all_healthy(ok);

        let wrong = find("my-wrong-password");
        assert_status(check(wrong, "connect"), HealthStatus::Healthy);
        let auth = check(wrong, "authenticate");
        assert_status(auth, HealthStatus::Error);
        assert!(
            reason(auth).contains(&format!("refused user '{writer}'")),
            "{}",
            reason(auth)
        );
        assert_eq!(
            reason(check(wrong, "query")),
            "not run: authenticate failed"
        );

        let read_only = find("my-read-only");
        let privilege = check(read_only, "insertPrivilege");
        assert_status(privilege, HealthStatus::Error);
        assert!(
            reason(privilege).contains(&format!("user '{reader}' may not insert into")),
            "{}",
            reason(privilege)
        );
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains("right-pass") && !text.contains("wrong-pass-123"));
        assert!(!data_dir_holds(&t, "right-pass") && !data_dir_holds(&t, "wrong-pass-123"));
    };
    cleanly(
        body,
        exec(
            &my.pool,
            format!(
                "DROP TABLE {table}; DROP USER IF EXISTS '{writer}'@'%'; \
                 DROP USER IF EXISTS '{reader}'@'%'"
            ),
        ),
    )
    .await;
}

#[tokio::test]
async fn mysql_privileges_through_a_role_are_a_warning_not_a_false_error() {
    let my = common_db::mysql().await;
    let s = suffix();
    let (table, user, role) = (
        format!("hc_role_{s}"),
        format!("hc_ru_{s}"),
        format!("hc_rr_{s}"),
    );
    exec(
        &my.pool,
        format!("CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, full_name TEXT)"),
    )
    .await;
    exec(
        &my.pool,
        format!(
            "CREATE ROLE {role}; GRANT SELECT, INSERT ON `{db}`.`{table}` TO {role}; \
             CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'; GRANT {role} TO '{user}'@'%'; \
             SET DEFAULT ROLE {role} FOR '{user}'@'%'",
            db = my.database
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        t.add(db_config(
            "my-role",
            json!([{"name": "fullName", "type": "name"}]),
            mysql_database(&my, &table, &user, &format!("pw-{user}")),
        ))
        .await;
        let report = t.app.health(Some("my-role"), TIMEOUT).await.unwrap();
        let i = only(&report);
        assert_status(check(i, "table"), HealthStatus::Healthy);
        let privilege = check(i, "insertPrivilege");
        assert_status(privilege, HealthStatus::Warning);
        assert!(reason(privilege).contains("role"), "{}", reason(privilege));
    };
    cleanly(
        body,
        exec(
            &my.pool,
            format!("DROP TABLE {table}; DROP USER IF EXISTS '{user}'@'%'; DROP ROLE {role}"),
        ),
    )
    .await;
}

#[tokio::test]
async fn mysql_missing_table_missing_column_and_unmapped_not_null_column() {
    let my = common_db::mysql().await;
    let table = format!("hc_mybroken_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, \
             full_name VARCHAR(100) NOT NULL, ssn VARCHAR(11) NOT NULL)"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        let fields = json!([{"name": "fullName", "type": "name", "required": true},
                            {"name": "notes", "type": "text"}]);
        t.add(db_config(
            "my-broken",
            fields.clone(),
            my.config(
                "mysql",
                &table,
                json!({"fullName": "full_name", "notes": "notes"}),
            ),
        ))
        .await;
        t.add(db_config(
            "my-absent",
            fields,
            my.config(
                "mysql",
                &format!("{table}_absent"),
                json!({"fullName": "full_name"}),
            ),
        ))
        .await;
        let report = t.app.health(None, TIMEOUT).await.unwrap();
        let find = |name: &str| report.integrations.iter().find(|i| i.name == name).unwrap();

        let broken = find("my-broken");
        let columns = check(broken, "columns");
        assert_status(columns, HealthStatus::Error);
        assert!(
            reason(columns).contains("column 'notes' (field 'notes') does not exist"),
            "{}",
            reason(columns)
        );
        let required = check(broken, "requiredColumns");
        assert_status(required, HealthStatus::Error);
        assert!(reason(required).contains("ssn"), "{}", reason(required));

        let absent = check(find("my-absent"), "table");
        assert_status(absent, HealthStatus::Error);
        assert!(
            reason(absent).contains("was not found"),
            "{}",
            reason(absent)
        );
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE {table}"))).await;
}

/// Fixed values in the table checks, on `table` (`full_name` and `clinic_code` NOT NULL without
/// a default, `site_no` a whole number) of `database`: with the code and a number as fixed
/// values, `columns`, `requiredColumns`, `insertPrivilege` and the end-to-end insert pass; a
/// fixed value the column cannot take is a `columns` error naming its setting; without the fixed
/// code, `requiredColumns` names its column.
async fn assert_fixed_values_are_checked(database: Value) {
    let t = TestApp::new().await;
    let fields = json!([{"name": "fullName", "type": "name", "required": true}]);
    let with = |fixed: Value| {
        let mut d = database.clone();
        d["fixedValues"] = fixed;
        d
    };
    t.add(db_config(
        "fixed-ok",
        fields.clone(),
        with(json!({"clinic_code": "C-42", "site_no": 7})),
    ))
    .await;
    t.add(db_config(
        "fixed-unfit",
        fields.clone(),
        with(json!({"clinic_code": "C-42", "site_no": "seven"})),
    ))
    .await;
    t.add(db_config("fixed-none", fields, database.clone()))
        .await;
    let report = t.app.health(None, TIMEOUT).await.unwrap();
    let find = |name: &str| report.integrations.iter().find(|i| i.name == name).unwrap();

    let ok = find("fixed-ok");
    for name in ["columns", "requiredColumns", "insertPrivilege", "endToEnd"] {
        assert_status(check(ok, name), HealthStatus::Healthy);
    }
    assert!(
        reason(check(ok, "columns")).contains("2 fixed values'"),
        "{}",
        reason(check(ok, "columns"))
    );
    assert_eq!(
        reason(check(ok, "endToEnd")),
        "a sample row was inserted and rolled back (nothing was kept)"
    );

    let columns = check(find("fixed-unfit"), "columns");
    assert_status(columns, HealthStatus::Error);
    assert!(
        reason(columns).contains("the fixed value \"seven\" cannot be stored in column site_no")
            && reason(columns).contains("database.fixedValues.site_no"),
        "{}",
        reason(columns)
    );

    let required = check(find("fixed-none"), "requiredColumns");
    assert_status(required, HealthStatus::Error);
    assert!(
        reason(required).contains("clinic_code") && reason(required).contains("fixed value"),
        "{}",
        reason(required)
    );
}

#[tokio::test]
async fn sqlite_fixed_values_count_in_the_table_checks() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, \
         clinic_code TEXT NOT NULL, site_no INTEGER)"
            .into(),
    )
    .await;
    assert_fixed_values_are_checked(json!({
        "type": "sqlite", "database": path, "table": "visits",
        "fieldMapping": {"fullName": "full_name"}
    }))
    .await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM visits")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "health checks never write");
}

#[tokio::test]
async fn postgres_fixed_values_count_in_the_table_checks() {
    let pg = common_db::postgres().await;
    let table = format!("hc_fixed_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {table} (id serial PRIMARY KEY, full_name text NOT NULL,
               clinic_code varchar(20) NOT NULL, site_no integer)"
        ),
    )
    .await;
    let body = assert_fixed_values_are_checked(pg.config(
        "postgresql",
        &table,
        json!({"fullName": "full_name"}),
    ));
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {table}"))).await;
}

#[tokio::test]
async fn mysql_fixed_values_count_in_the_table_checks() {
    let my = common_db::mysql().await;
    let table = format!("hc_myfixed_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, \
             full_name VARCHAR(100) NOT NULL, clinic_code VARCHAR(20) NOT NULL, site_no INT)"
        ),
    )
    .await;
    let body = assert_fixed_values_are_checked(my.config(
        "mysql",
        &table,
        json!({"fullName": "full_name"}),
    ));
    cleanly(body, exec(&my.pool, format!("DROP TABLE {table}"))).await;
}

/// The `idempotency` check of three integrations on `database(table, mapping)`: `unique`'s
/// `handoff_id` is unique, `plain`'s is not, and the third maps no `handoffId`. It names the
/// column, or says what its absence risks, and never lowers the status.
async fn assert_idempotency_is_named(
    database: impl Fn(&str, Value) -> Value,
    unique: &str,
    plain: &str,
) {
    let t = TestApp::new().await;
    let fields = json!([{"name": "fullName", "type": "name", "required": true}]);
    let with_id = json!({"fullName": "full_name", "handoffId": "handoff_id"});
    t.add(db_config(
        "idem-unique",
        fields.clone(),
        database(unique, with_id.clone()),
    ))
    .await;
    t.add(db_config(
        "idem-plain",
        fields.clone(),
        database(plain, with_id),
    ))
    .await;
    t.add(db_config(
        "idem-none",
        fields,
        database(unique, json!({"fullName": "full_name"})),
    ))
    .await;
    let report = t.app.health(None, TIMEOUT).await.unwrap();
    let find = |name: &str| report.integrations.iter().find(|i| i.name == name).unwrap();
    for (name, want) in [
        (
            "idem-unique",
            "handoffId → handoff_id (unique): a retry never inserts a second row",
        ),
        (
            "idem-plain",
            "handoffId → handoff_id, which is not unique: a retry after a crash may insert a \
             second row — add a UNIQUE constraint on handoff_id",
        ),
        (
            "idem-none",
            "no idempotency column: a retry after a crash may insert a second row — map \
             handoffId to a unique column (database.fieldMapping)",
        ),
    ] {
        let i = find(name);
        let c = check(i, "idempotency");
        assert_status(c, HealthStatus::Healthy);
        assert_eq!(reason(c), want, "{name}");
        assert_all_healthy(i);
    }
}

#[tokio::test]
async fn sqlite_idempotency_names_the_handoff_column_or_its_absence() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE u (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, handoff_id TEXT UNIQUE);
         CREATE TABLE p (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, handoff_id TEXT)"
            .into(),
    )
    .await;
    assert_idempotency_is_named(
        |table, mapping| {
            json!({"type": "sqlite", "database": path, "table": table, "fieldMapping": mapping})
        },
        "u",
        "p",
    )
    .await;
}

#[tokio::test]
async fn postgres_idempotency_names_the_handoff_column_or_its_absence() {
    let pg = common_db::postgres().await;
    let s = suffix();
    let (u, p) = (format!("hc_idem_u_{s}"), format!("hc_idem_p_{s}"));
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {u} (id serial PRIMARY KEY, full_name text NOT NULL,
               handoff_id uuid UNIQUE);
             CREATE TABLE {p} (id serial PRIMARY KEY, full_name text NOT NULL, handoff_id uuid)"
        ),
    )
    .await;
    let body = assert_idempotency_is_named(
        |table, mapping| pg.config("postgresql", table, mapping),
        &u,
        &p,
    );
    cleanly(
        body,
        exec(&pg.pool, format!("DROP TABLE {u}; DROP TABLE {p}")),
    )
    .await;
}

#[tokio::test]
async fn mysql_idempotency_names_the_handoff_column_or_its_absence() {
    let my = common_db::mysql().await;
    let s = suffix();
    let (u, p) = (format!("hc_idem_u_{s}"), format!("hc_idem_p_{s}"));
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {u} (id INT AUTO_INCREMENT PRIMARY KEY,
               full_name VARCHAR(100) NOT NULL, handoff_id CHAR(36) UNIQUE);
             CREATE TABLE {p} (id INT AUTO_INCREMENT PRIMARY KEY,
               full_name VARCHAR(100) NOT NULL, handoff_id CHAR(36), KEY (handoff_id))"
        ),
    )
    .await;
    let body =
        assert_idempotency_is_named(|table, mapping| my.config("mysql", table, mapping), &u, &p);
    cleanly(
        body,
        exec(&my.pool, format!("DROP TABLE {u}; DROP TABLE {p}")),
    )
    .await;
}

#[tokio::test]
async fn sqlite_booleans_and_dates_fit_integer_and_real_columns() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, flag INTEGER, \
         urgent NUMERIC, visit INTEGER, seen REAL)"
            .into(),
    )
    .await;
    let t = TestApp::new().await;
    t.add(db_config(
        "sqlite-conventions",
        json!([{"name": "fullName", "type": "name", "required": true},
               {"name": "flag", "type": "boolean"}, {"name": "urgent", "type": "boolean"},
               {"name": "visitDate", "type": "date"}, {"name": "seenAt", "type": "datetime"}]),
        json!({"type": "sqlite", "database": path, "table": "visits",
               "fieldMapping": {"fullName": "full_name", "flag": "flag", "urgent": "urgent",
                                "visitDate": "visit", "seenAt": "seen"}}),
    ))
    .await;
    let report = t
        .app
        .health(Some("sqlite-conventions"), TIMEOUT)
        .await
        .unwrap();
    let i = only(&report);
    assert_eq!(
        reason(check(i, "columns")),
        "5 mapped columns exist with compatible types"
    );
    // The sample row goes in as a handoff would (and is rolled back).
    assert_all_healthy(i);
}

/// A seed config whose `"password"` is `""` (the seed's way of saying none) imports: no
/// password is kept, no secret written, and the connection is made without one.
async fn assert_an_empty_password_means_none(database: Value) {
    let t = TestApp::new().await;
    let mut seed = database;
    seed["password"] = json!("");
    let draft = handoff_console::integrations::read_config(&seed.to_string(), Some("seed_db"))
        .expect("the seed reads");
    let added = t
        .app
        .add_integration_from(draft)
        .await
        .expect("an empty password is accepted");
    let db = added.config.database.as_ref().expect("database");
    assert_eq!(db.password, None);
    assert!(added.config.secret_slots().is_empty());
    let report = t.app.health(Some("seed_db"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_all_healthy(i);
}

#[tokio::test]
async fn sqlite_seed_config_with_an_empty_password_imports() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE patient_data (id INTEGER PRIMARY KEY, patient_name TEXT)".into(),
    )
    .await;
    assert_an_empty_password_means_none(json!({
        "type": "sqlite", "hostname": "localhost", "port": 5432, "database": path,
        "username": "app_user", "table": "patient_data",
        "fieldMapping": {"fullName": "patient_name"}
    }))
    .await;
}

#[tokio::test]
async fn postgres_seed_config_with_an_empty_password_imports_and_connects() {
    let pg = common_db::postgres().await;
    assert!(
        pg.password.is_none(),
        "this test needs a server that trusts its user"
    );
    let table = format!("hc_nopw_{}", suffix());
    exec(
        &pg.pool,
        format!("CREATE TABLE {table} (id serial PRIMARY KEY, patient_name text)"),
    )
    .await;
    let body = assert_an_empty_password_means_none(pg.config(
        "postgresql",
        &table,
        json!({"fullName": "patient_name"}),
    ));
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {table}"))).await;
}

#[tokio::test]
async fn mysql_seed_config_with_an_empty_password_imports_and_connects() {
    let my = common_db::mysql().await;
    let s = suffix();
    let (table, user) = (format!("hc_nopw_{s}"), format!("hc_nopw_{s}"));
    exec(
        &my.pool,
        format!("CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, patient_name TEXT)"),
    )
    .await;
    // A user without a password, whatever the admin's.
    exec(&my.pool, format!("CREATE USER '{user}'@'%'")).await;
    exec(
        &my.pool,
        format!(
            "GRANT SELECT, INSERT ON `{}`.`{table}` TO '{user}'@'%'",
            my.database
        ),
    )
    .await;
    let mut database = my.config("mysql", &table, json!({"fullName": "patient_name"}));
    database["username"] = json!(user);
    let body = assert_an_empty_password_means_none(database);
    cleanly(
        body,
        exec(
            &my.pool,
            format!("DROP TABLE {table}; DROP USER IF EXISTS '{user}'@'%'"),
        ),
    )
    .await;
}
