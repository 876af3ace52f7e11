//! SQLite files in a temp dir: these always run.
use super::*;

async fn sqlite_texts(pool: &SqlitePool, sql: String) -> Vec<Option<String>> {
    let row = sqlx::query(AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .expect("read back");
    (0..row.len())
        .map(|i| row.try_get::<Option<String>, _>(i).expect("text column"))
        .collect()
}

fn sqlite_config(path: &str, table: &str, mapping: Value) -> Value {
    json!({"type": "sqlite", "database": path, "table": table, "fieldMapping": mapping})
}

#[tokio::test]
async fn typed_columns_are_converted_and_read_back() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("typed_{}", suffix());
    exec(
        &admin,
        format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, qty INTEGER, \
             price DECIMAL(10,2), ratio REAL, active BOOLEAN, visit DATE, slot TIME, \
             seen_at DATETIME, notes TEXT, meta JSON, ref UUID, session TEXT, handoff TEXT)"
        ),
    )
    .await;
    let i = integration(
        sqlite_config(
            &path,
            &format!("main.{t}"),
            json!({
                "qty": "qty", "price": "price", "ratio": "ratio", "active": "active",
                "visit": "visit", "slot": "slot", "seenAt": "seen_at", "notes": "notes",
                "meta": "meta", "ref": "ref", "sessionId": "session", "handoffId": "handoff",
            }),
        ),
        None,
    );
    let h = handoff();
    let pools = DatabasePools::default();
    let d = pools
        .deliver(
            &i,
            &h,
            &data(json!({
                "qty": "42", "price": 12.5, "ratio": "0.25", "active": "yes",
                "visit": "2024-05-31", "slot": "09:15", "seenAt": "2024-05-31T14:30:00-05:00",
                "notes": 123, "meta": {"a": [1, 2]},
                "ref": "0190a3f0-1234-7000-8000-000000000001",
            })),
        )
        .await;
    assert_ok(&d);
    assert_eq!(d.submission_id.as_deref(), Some("1"));
    assert_eq!(d.message, format!("inserted 1 row into main.{t} (id 1)"));
    assert_eq!(d.request["params"].as_array().map(Vec::len), Some(12));
    assert!(
        d.request["sql"]
            .as_str()
            .unwrap()
            .starts_with(&format!("INSERT INTO \"main\".\"{t}\" (")),
        "{}",
        d.request
    );
    let got = sqlite_texts(
        &admin,
        format!(
            "SELECT CAST(id AS TEXT), typeof(qty), CAST(qty AS TEXT), CAST(price AS TEXT), \
             CAST(ratio AS TEXT), CAST(active AS TEXT), visit, slot, seen_at, notes, meta, ref, \
             session, handoff FROM {t}"
        ),
    )
    .await;
    let expected = [
        "1",
        "integer",
        "42",
        "12.5",
        "0.25",
        "1",
        "2024-05-31",
        "09:15:00",
        "2024-05-31 19:30:00",
        "123",
        "{\"a\":[1,2]}",
        "0190a3f0-1234-7000-8000-000000000001",
        "session-1",
    ];
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(got[i].as_deref(), Some(*want), "column {i}");
    }
    assert_eq!(got[13], Some(h.handoff_id.to_string()));
}

#[tokio::test]
async fn seed_patient_data_table() {
    let (_dir, path, admin) = common_db::sqlite().await;
    exec(
        &admin,
        "CREATE TABLE patient_data (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            patient_name TEXT NOT NULL,
            email TEXT,
            phone TEXT,
            appointment_date TEXT,
            notes TEXT,
            submission_timestamp DATETIME DEFAULT CURRENT_TIMESTAMP,
            source TEXT DEFAULT 'voice_agent'
        )"
        .to_string(),
    )
    .await;
    let i = integration(sqlite_config(&path, "patient_data", seed_mapping()), None);
    let targets = Targets::default();
    for n in 1..=2 {
        let d = targets.deliver(&i, &handoff(), &data(seed_data())).await;
        assert_ok(&d);
        assert_eq!(
            d.message,
            format!("inserted 1 row into patient_data (id {n})")
        );
        assert_eq!(d.submission_id, Some(n.to_string()));
    }
    let got = sqlite_texts(
        &admin,
        "SELECT patient_name, email, phone, appointment_date, notes, source, \
         CAST(submission_timestamp IS NOT NULL AS TEXT) FROM patient_data WHERE id = 2"
            .to_string(),
    )
    .await;
    let want = [
        "Jane Doe",
        "jane@example.com",
        "+1 555 0100",
        "2024-06-01",
        "prefers mornings",
        "voice_agent",
        "1",
    ];
    assert_eq!(got, want.map(|s| Some(s.to_string())).to_vec());
}

#[tokio::test]
async fn missing_table_column_and_file_are_configuration() {
    let (dir, path, admin) = common_db::sqlite().await;
    let t = format!("p_{}", suffix());
    exec(
        &admin,
        format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, patient_name TEXT NOT NULL, email TEXT)"
        ),
    )
    .await;
    let pools = DatabasePools::default();
    let h = handoff();

    let i = integration(sqlite_config(&path, "no_such_table", seed_mapping()), None);
    let d = pools.deliver(&i, &h, &data(seed_data())).await;
    assert_failed(&d, ErrorCategory::Configuration);
    assert!(d.message.contains("no_such_table"), "{}", d.message);

    // The seed's own mapping names `email_address`, which its table does not have.
    let i = integration(
        sqlite_config(
            &path,
            &t,
            json!({"fullName": "patient_name", "email": "email_address"}),
        ),
        None,
    );
    let d = pools.deliver(&i, &h, &data(seed_data())).await;
    assert_failed(&d, ErrorCategory::Configuration);
    assert!(
        d.message.contains("email_address") && d.message.contains("field 'email'"),
        "{}",
        d.message
    );
    assert_eq!(count_sqlite(&admin, &t).await, 0);

    let missing = dir.path().join("not-there.db");
    let i = integration(
        sqlite_config(
            missing.to_str().unwrap(),
            &t,
            json!({"fullName": "patient_name"}),
        ),
        None,
    );
    let d = pools.deliver(&i, &h, &data(seed_data())).await;
    assert_failed(&d, ErrorCategory::Configuration);
    assert!(d.message.contains("does not exist"), "{}", d.message);
    assert!(!missing.exists(), "the file must not be created");
}

#[tokio::test]
async fn constraint_violations_are_validation_and_leave_no_row() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("p_{}", suffix());
    exec(
        &admin,
        format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, patient_name TEXT NOT NULL, \
             email TEXT UNIQUE)"
        ),
    )
    .await;
    let pools = DatabasePools::default();
    let i = integration(
        sqlite_config(
            &path,
            &t,
            json!({"fullName": "patient_name", "email": "email"}),
        ),
        None,
    );
    let h = handoff();

    let d = pools
        .deliver(
            &i,
            &h,
            &data(json!({"fullName": null, "email": "a@example.com"})),
        )
        .await;
    assert_failed(&d, ErrorCategory::Validation);
    assert!(d.message.contains("NOT NULL"), "{}", d.message);
    let d = pools
        .deliver(&i, &h, &data(json!({"email": "a@example.com"})))
        .await;
    assert_failed(&d, ErrorCategory::Validation);
    assert_eq!(count_sqlite(&admin, &t).await, 0);

    let row = json!({"fullName": "A", "email": "a@example.com"});
    assert_ok(&pools.deliver(&i, &h, &data(row.clone())).await);
    let d = pools.deliver(&i, &h, &data(row)).await;
    assert_failed(&d, ErrorCategory::Validation);
    assert!(d.message.contains("UNIQUE"), "{}", d.message);
    assert!(d.request["sql"].is_string(), "what was sent is recorded");
    assert_eq!(count_sqlite(&admin, &t).await, 1);
}

#[tokio::test]
async fn unconvertible_value_is_refused_before_sending() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("p_{}", suffix());
    exec(
        &admin,
        format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, qty INTEGER, visit DATE)"),
    )
    .await;
    let pools = DatabasePools::default();
    let i = integration(
        sqlite_config(&path, &t, json!({"qty": "qty", "visit": "visit"})),
        None,
    );
    let d = pools
        .deliver(
            &i,
            &handoff(),
            &data(json!({"qty": "forty-two", "visit": "2024-01-01"})),
        )
        .await;
    assert_failed(&d, ErrorCategory::Validation);
    assert!(
        d.message.contains("field 'qty'") && d.message.contains("column qty"),
        "{}",
        d.message
    );
    assert!(
        !d.message.contains("forty-two"),
        "values stay out of messages"
    );
    assert!(d.request.is_null(), "nothing was sent");
    assert_eq!(count_sqlite(&admin, &t).await, 0);
}

#[tokio::test]
async fn identifiers_that_try_to_inject_sql_are_refused() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let victim = format!("victim_{}", suffix());
    exec(&admin, format!("CREATE TABLE {victim} (a TEXT)")).await;
    let pools = DatabasePools::default();
    assert_injection_refused(
        &pools,
        sqlite_config(
            &path,
            &format!("{victim}; DROP TABLE {victim}"),
            json!({"a": "a"}),
        ),
        "database.table",
    )
    .await;
    assert_injection_refused(
        &pools,
        sqlite_config(&path, &victim, json!({"a": "a\"b"})),
        "database.fieldMapping.a",
    )
    .await;
    assert_eq!(
        count_sqlite(&admin, &victim).await,
        0,
        "the table is intact"
    );
}

#[tokio::test]
async fn pool_is_reused_across_handoffs() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("p_{}", suffix());
    exec(
        &admin,
        format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, n INTEGER)"),
    )
    .await;
    let mut config = sqlite_config(&path, &t, json!({"n": "n"}));
    config["poolSize"] = json!(3);
    let i = integration(config, None);
    let pools = DatabasePools::default();
    let h = handoff();
    let all = join_all((0..25).map(|n| {
        let (i, h, pools) = (&i, &h, &pools);
        async move { pools.deliver(i, h, &data(json!({"n": n}))).await }
    }))
    .await;
    let mut ids = HashSet::new();
    for d in &all {
        assert_ok(d);
        ids.insert(d.submission_id.clone().expect("row id"));
    }
    assert_eq!(ids.len(), 25);
    assert_eq!(count_sqlite(&admin, &t).await, 25);
    assert_eq!(pools.pool_count(), 1);
    let stats = pools.pool_stats(i.id).expect("a pool");
    assert!(stats.size >= 1 && stats.size <= 3, "{stats:?}");
    assert_eq!(stats.max_connections, 3);
    pools.forget(i.id).await;
    assert_eq!(pools.pool_count(), 0);
}

#[tokio::test]
async fn schema_changes_are_picked_up() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("p_{}", suffix());
    exec(
        &admin,
        format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, a TEXT)"),
    )
    .await;
    let pools = DatabasePools::default();
    let mut i = integration(sqlite_config(&path, &t, json!({"a": "a"})), None);
    let h = handoff();
    assert_ok(
        &pools
            .deliver(&i, &h, &data(json!({"a": "1", "b": 2})))
            .await,
    );

    // A column added after the columns were cached.
    exec(&admin, format!("ALTER TABLE {t} ADD COLUMN b INTEGER")).await;
    set_mapping(&mut i, json!({"a": "a", "b": "b"}));
    assert_ok(
        &pools
            .deliver(&i, &h, &data(json!({"a": "2", "b": 2})))
            .await,
    );

    // A column renamed away: the insert fails, the columns are read again, and the message
    // names the column.
    exec(&admin, format!("ALTER TABLE {t} RENAME COLUMN b TO c")).await;
    let d = pools
        .deliver(&i, &h, &data(json!({"a": "3", "b": 3})))
        .await;
    assert_failed(&d, ErrorCategory::Configuration);
    assert!(d.message.contains("column 'b'"), "{}", d.message);
    assert_eq!(count_sqlite(&admin, &t).await, 2);
}

#[tokio::test]
async fn fixed_values_are_inserted_in_the_columns_types() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("fixed_{}", suffix());
    exec(
        &admin,
        format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, patient_name TEXT NOT NULL, \
             clinic_code TEXT NOT NULL, site_no INTEGER, urgent BOOLEAN, fee DECIMAL(6,2))"
        ),
    )
    .await;
    let mut i = integration(
        sqlite_config(&path, &t, json!({"fullName": "patient_name"})),
        None,
    );
    set(&mut i, "fixedValues", fixed_values());
    let pools = DatabasePools::default();
    deliver_with_fixed_values(&pools, &i).await;
    assert_eq!(count_sqlite(&admin, &t).await, 1, "the test rolled back");
    let got = sqlite_texts(
        &admin,
        format!(
            "SELECT patient_name, clinic_code, typeof(site_no), CAST(site_no AS TEXT), \
             CAST(urgent AS TEXT), CAST(fee AS TEXT) FROM {t}"
        ),
    )
    .await;
    let got: Vec<&str> = got.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
    assert_eq!(got, ["Jane Doe", "C-42", "integer", "7", "1", "12.5"]);
    assert_unfit_fixed_value_refused(&pools, i).await;
    assert_eq!(count_sqlite(&admin, &t).await, 1);
}

#[tokio::test]
async fn a_retry_of_a_handoff_whose_row_is_there_inserts_nothing() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let (t, k) = (
        format!("idem_{}", suffix()),
        format!("idem_pk_{}", suffix()),
    );
    // A unique column beside the rowid, and the handoff id as the primary key of a table
    // without rowid.
    exec(
        &admin,
        format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, patient_name TEXT NOT NULL, \
               handoff_id TEXT UNIQUE);
             CREATE TABLE {k} (handoff_id TEXT PRIMARY KEY, patient_name TEXT NOT NULL) \
               WITHOUT ROWID"
        ),
    )
    .await;
    let pools = DatabasePools::default();
    let mapping = json!({"fullName": "patient_name", "handoffId": "handoff_id"});
    for table in [&t, &k] {
        let i = integration(sqlite_config(&path, table, mapping.clone()), None);
        let id = deliver_twice(&pools, &i, "ON CONFLICT (\"handoff_id\") DO NOTHING").await;
        assert_eq!(count_sqlite(&admin, table).await, 1, "{table}");
        let got = sqlite_texts(&admin, format!("SELECT handoff_id FROM {table}")).await;
        assert_eq!(got, [Some(id)]);
    }
}

#[tokio::test]
async fn a_conflict_on_another_unique_column_stays_validation() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("idem_{}", suffix());
    exec(
        &admin,
        format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, patient_name TEXT NOT NULL, \
               email TEXT UNIQUE, handoff_id TEXT UNIQUE)"
        ),
    )
    .await;
    let pools = DatabasePools::default();
    let i = integration(
        sqlite_config(
            &path,
            &t,
            json!({"fullName": "patient_name", "email": "email", "handoffId": "handoff_id"}),
        ),
        None,
    );
    assert_another_unique_conflict_is_validation(
        &pools,
        &i,
        "ON CONFLICT (\"handoff_id\") DO NOTHING",
    )
    .await;
    assert_eq!(count_sqlite(&admin, &t).await, 1);
}

/// SQLite has no boolean or date types: booleans are stored as 0/1 in INTEGER and NUMERIC
/// columns, and dates and date-times by the column's affinity as SQLite's date functions read
/// them: unix seconds (INTEGER), Julian day numbers (REAL), ISO 8601 text (TEXT).
#[tokio::test]
async fn booleans_and_dates_follow_sqlites_conventions() {
    let (_dir, path, admin) = common_db::sqlite().await;
    let t = format!("conv_{}", suffix());
    exec(
        &admin,
        format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, flag INTEGER, urgent NUMERIC, \
             born_unix INTEGER, born_jd REAL, born_text TEXT, \
             seen_unix BIGINT, seen_jd DOUBLE, seen_text VARCHAR(40), created_unix INTEGER)"
        ),
    )
    .await;
    let mut i = integration(
        sqlite_config(
            &path,
            &t,
            json!({
                "flag": "flag", "urgent": "urgent",
                "born": "born_unix", "bornJd": "born_jd", "bornText": "born_text",
                "seen": "seen_unix", "seenJd": "seen_jd", "seenText": "seen_text",
                "timestamp": "created_unix",
            }),
        ),
        None,
    );
    i.config.fields = serde_json::from_value(json!([
        {"name": "flag", "type": "boolean"}, {"name": "urgent", "type": "boolean"},
        {"name": "born", "type": "date"}, {"name": "bornJd", "type": "date"},
        {"name": "bornText", "type": "date"},
        {"name": "seen", "type": "datetime"}, {"name": "seenJd", "type": "datetime"},
        {"name": "seenText", "type": "datetime"},
    ]))
    .expect("fields");
    let pools = DatabasePools::default();
    let at = "2024-05-31T14:30:00-05:00";
    let d = pools
        .deliver(
            &i,
            &handoff(),
            &data(json!({
                "flag": true, "urgent": false,
                "born": "2024-05-31", "bornJd": "2024-05-31", "bornText": "2024-05-31",
                "seen": at, "seenJd": at, "seenText": at,
            })),
        )
        .await;
    assert_ok(&d);
    let got = sqlite_texts(
        &admin,
        format!(
            "SELECT typeof(flag) || ' ' || flag, typeof(urgent) || ' ' || urgent, \
             typeof(born_unix) || ' ' || born_unix, typeof(born_jd) || ' ' || born_jd, \
             typeof(born_text) || ' ' || born_text, typeof(seen_unix) || ' ' || seen_unix, \
             typeof(seen_jd) || ' ' || seen_jd, typeof(seen_text) || ' ' || seen_text, \
             typeof(created_unix) FROM {t}"
        ),
    )
    .await;
    let want = [
        "integer 1",
        "integer 0",
        "integer 1717113600",
        "real 2460461.5",
        "text 2024-05-31",
        "integer 1717183800",
        "real 2460462.3125",
        &format!("text {at}"),
        "integer",
    ];
    let got: Vec<&str> = got.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
    assert_eq!(got, want);
    // SQLite's own date functions read each form as the same moment.
    let same: Vec<Option<String>> = sqlite_texts(
        &admin,
        format!(
            "SELECT CAST(date(born_unix, 'unixepoch') = date(born_jd) AND \
             date(born_jd) = born_text AS TEXT), \
             CAST(datetime(seen_unix, 'unixepoch') = datetime(seen_jd) AND \
             datetime(seen_jd) = datetime(seen_text) AS TEXT) FROM {t}"
        ),
    )
    .await;
    assert_eq!(same, [Some("1".to_string()), Some("1".to_string())]);

    // Only a field declared a date or date-time is taken for one: a text field's date-time
    // into an INTEGER column is refused, as before.
    i.config.fields.retain(|f| f.name != "seen");
    let d = pools
        .deliver(&i, &handoff(), &data(json!({"flag": true, "seen": at})))
        .await;
    assert_failed(&d, ErrorCategory::Validation);
    assert!(d.message.contains("field 'seen'"), "{}", d.message);
}
