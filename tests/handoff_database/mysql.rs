//! MariaDB/MySQL at `HANDOFF_TEST_MYSQL_URL` (skipped when it is not set).
use super::*;

async fn mysql_texts(pool: &MySqlPool, sql: String) -> Vec<Option<String>> {
    let row = sqlx::query(AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .expect("read back");
    (0..row.len())
        .map(|i| row.try_get::<Option<String>, _>(i).expect("text column"))
        .collect()
}

fn my_integration(my: &Server<MySqlPool>, table: &str, mapping: Value) -> ResolvedIntegration {
    integration(my.config("mysql", table, mapping), my.password.as_deref())
}

/// A user with a password and the given privileges on one table; dropped by `drop_user`.
async fn create_user(my: &Server<MySqlPool>, user: &str, password: &str, grant: &str, t: &str) {
    exec(
        &my.pool,
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
    )
    .await;
    exec(
        &my.pool,
        format!("GRANT {grant} ON `{}`.`{t}` TO '{user}'@'%'", my.database),
    )
    .await;
}

async fn drop_user(my: &Server<MySqlPool>, user: &str) {
    exec(&my.pool, format!("DROP USER IF EXISTS '{user}'@'%'")).await;
}

#[tokio::test]
async fn typed_columns_are_converted_and_read_back() {
    let my = common_db::mysql().await;
    let t = format!("hc_typed_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, qty INT, price DECIMAL(10,2),
               ratio DOUBLE, active BOOLEAN, visit DATE, slot TIME, seen_at DATETIME,
               at_ts TIMESTAMP NULL, notes TEXT, meta JSON, ref UUID,
               mood ENUM('happy', 'sad'), session VARCHAR(100))"
        ),
    )
    .await;
    let body = async {
        let i = my_integration(
            &my,
            &t,
            json!({
                "qty": "qty", "price": "price", "ratio": "ratio", "active": "active",
                "visit": "visit", "slot": "slot", "seenAt": "seen_at", "atTs": "at_ts",
                "notes": "notes", "meta": "meta", "ref": "ref", "mood": "mood",
                "sessionId": "session",
            }),
        );
        let pools = DatabasePools::default();
        let d = pools
            .deliver(
                &i,
                &handoff(),
                &data(json!({
                    "qty": "42", "price": "12.5", "ratio": 0.25, "active": true,
                    "visit": "2024-05-31", "slot": "09:15",
                    "seenAt": "2024-05-31T14:30:00-05:00", "atTs": "2024-05-31T14:30:00+02:00",
                    "notes": 123, "meta": {"a": [1, 2]},
                    "ref": "0190a3f0-1234-7000-8000-000000000001", "mood": "sad",
                })),
            )
            .await;
        assert_ok(&d);
        let sql = d.request["sql"].as_str().expect("sql");
        assert!(
            sql.starts_with(&format!("INSERT INTO `{}`.`{t}` (", my.database)),
            "{sql}"
        );
        let got = mysql_texts(
            &my.pool,
            format!(
                "SELECT CAST(id AS CHAR), CAST(qty AS CHAR), CAST(price AS CHAR),
                        CAST(ratio AS CHAR), CAST(active AS CHAR), CAST(visit AS CHAR),
                        CAST(slot AS CHAR), CAST(seen_at AS CHAR), CAST(at_ts AS CHAR), notes,
                        meta, CAST(ref AS CHAR), CAST(mood AS CHAR), session FROM {t}"
            ),
        )
        .await;
        assert_eq!(got[0], d.submission_id, "LAST_INSERT_ID is the row's id");
        let want = [
            "42",
            "12.50",
            "0.25",
            "1",
            "2024-05-31",
            "09:15:00",
            "2024-05-31 19:30:00",
            "2024-05-31 12:30:00",
            "123",
            "{\"a\":[1,2]}",
            "0190a3f0-1234-7000-8000-000000000001",
            "sad",
            "session-1",
        ];
        for (n, w) in want.iter().enumerate() {
            assert_eq!(got[n + 1].as_deref(), Some(*w), "column {}", n + 1);
        }
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

const MYSQL_SEED_TABLE: &str = "(
    id INT AUTO_INCREMENT PRIMARY KEY,
    patient_name VARCHAR(255) NOT NULL,
    email VARCHAR(255),
    phone VARCHAR(50),
    appointment_date DATE,
    notes TEXT,
    submission_timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    source VARCHAR(50) DEFAULT 'voice_agent'
)";

#[tokio::test]
async fn seed_patient_data_table() {
    let my = common_db::mysql().await;
    let t = format!("patient_data_{}", suffix());
    exec(&my.pool, format!("CREATE TABLE {t} {MYSQL_SEED_TABLE}")).await;
    let body = async {
        let i = my_integration(&my, &t, seed_mapping());
        let targets = Targets::default();
        for n in 1..=2 {
            let d = targets.deliver(&i, &handoff(), &data(seed_data())).await;
            assert_ok(&d);
            assert_eq!(d.message, format!("inserted 1 row into {t} (id {n})"));
        }
        let got = mysql_texts(
            &my.pool,
            format!(
                "SELECT patient_name, email, phone, CAST(appointment_date AS CHAR), notes, source,
                        CAST(submission_timestamp IS NOT NULL AS CHAR) FROM {t} WHERE id = 2"
            ),
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
        targets.forget(i.id).await;
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn missing_table_and_column_are_configuration() {
    let my = common_db::mysql().await;
    let t = format!("patient_data_{}", suffix());
    exec(&my.pool, format!("CREATE TABLE {t} {MYSQL_SEED_TABLE}")).await;
    let body = async {
        let pools = DatabasePools::default();
        let absent = format!("absent_{}", suffix());
        let d = pools
            .deliver(
                &my_integration(&my, &absent, seed_mapping()),
                &handoff(),
                &data(seed_data()),
            )
            .await;
        assert_failed(&d, ErrorCategory::Configuration);
        assert!(d.message.contains(&absent), "{}", d.message);

        let mut mapping = seed_mapping();
        mapping["email"] = json!("email_address");
        let d = pools
            .deliver(
                &my_integration(&my, &t, mapping),
                &handoff(),
                &data(seed_data()),
            )
            .await;
        assert_failed(&d, ErrorCategory::Configuration);
        assert!(d.message.contains("'email_address'"), "{}", d.message);

        // A database that does not exist.
        let mut config = my.config("mysql", &t, seed_mapping());
        config["database"] = json!(format!("nodb_{}", suffix()));
        let d = pools
            .deliver(
                &integration(config, my.password.as_deref()),
                &handoff(),
                &data(seed_data()),
            )
            .await;
        assert_failed(&d, ErrorCategory::Configuration);
        assert_eq!(count_mysql(&my.pool, &t).await, 0);
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn constraint_violations_are_validation_and_leave_no_row() {
    let my = common_db::mysql().await;
    let t = format!("hc_c_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY,
               patient_name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE,
               code VARCHAR(5))"
        ),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let i = my_integration(
            &my,
            &t,
            json!({"fullName": "patient_name", "email": "email", "code": "code"}),
        );
        let h = handoff();
        for payload in [
            json!({"fullName": null, "email": "a@example.com"}),
            json!({"email": "a@example.com"}),
            json!({"fullName": "A", "code": "much too long"}),
        ] {
            let d = pools.deliver(&i, &h, &data(payload.clone())).await;
            assert_failed(&d, ErrorCategory::Validation);
            assert!(
                d.message.contains("MySQL error"),
                "{payload}: {}",
                d.message
            );
        }
        assert_eq!(count_mysql(&my.pool, &t).await, 0);

        let row = json!({"fullName": "A", "email": "a@example.com"});
        assert_ok(&pools.deliver(&i, &h, &data(row.clone())).await);
        let d = pools.deliver(&i, &h, &data(row)).await;
        assert_failed(&d, ErrorCategory::Validation);
        assert!(d.message.contains("unique key email"), "{}", d.message);
        assert!(!d.message.contains("a@example.com"), "{}", d.message);
        assert_eq!(count_mysql(&my.pool, &t).await, 1);
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn unconvertible_value_is_refused_before_sending() {
    let my = common_db::mysql().await;
    let t = format!("hc_v_{}", suffix());
    exec(
        &my.pool,
        format!("CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, price DECIMAL(10,2))"),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let i = my_integration(&my, &t, json!({"price": "price"}));
        let d = pools
            .deliver(&i, &handoff(), &data(json!({"price": "12,50"})))
            .await;
        assert_failed(&d, ErrorCategory::Validation);
        assert!(
            d.message.contains("field 'price'") && d.message.contains("decimal(10,2)"),
            "{}",
            d.message
        );
        assert!(d.request.is_null());
        assert_eq!(count_mysql(&my.pool, &t).await, 0);
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn identifiers_that_try_to_inject_sql_are_refused() {
    let my = common_db::mysql().await;
    let victim = format!("hc_victim_{}", suffix());
    exec(&my.pool, format!("CREATE TABLE {victim} (a TEXT)")).await;
    let body = async {
        let pools = DatabasePools::default();
        assert_injection_refused(
            &pools,
            my.config(
                "mysql",
                &format!("{victim}`; DROP TABLE `{victim}"),
                json!({"a": "a"}),
            ),
            "database.table",
        )
        .await;
        assert_injection_refused(
            &pools,
            my.config("mysql", &victim, json!({"a": "a`b"})),
            "database.fieldMapping.a",
        )
        .await;
        assert_eq!(
            count_mysql(&my.pool, &victim).await,
            0,
            "the table is intact"
        );
    };
    cleanly(
        body,
        exec(&my.pool, format!("DROP TABLE IF EXISTS {victim}")),
    )
    .await;
}

#[tokio::test]
async fn pool_is_reused_and_bounded() {
    let my = common_db::mysql().await;
    let t = format!("hc_pool_{}", suffix());
    let user = format!("hc_pool_{}", suffix());
    exec(
        &my.pool,
        format!("CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, n INT)"),
    )
    .await;
    create_user(&my, &user, "pool-pass", "SELECT, INSERT", &t).await;
    let body = async {
        let mut config = my.config("mysql", &t, json!({"n": "n"}));
        config["username"] = json!(user);
        config["poolSize"] = json!(2);
        let i = integration(config, Some("pool-pass"));
        let pools = DatabasePools::default();
        let h = handoff();
        let all = join_all((0..30).map(|n| {
            let (i, h, pools) = (&i, &h, &pools);
            async move { pools.deliver(i, h, &data(json!({"n": n}))).await }
        }))
        .await;
        let ids: HashSet<_> = all
            .iter()
            .map(|d| {
                assert_ok(d);
                d.submission_id.clone().expect("row id")
            })
            .collect();
        assert_eq!(ids.len(), 30);
        assert_eq!(count_mysql(&my.pool, &t).await, 30);
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
        )
        .bind(user.clone())
        .fetch_one(&my.pool)
        .await
        .expect("processlist");
        assert!(
            (1..=2).contains(&open),
            "{open} connections for a pool of 2"
        );
        let stats = pools.pool_stats(i.id).expect("a pool");
        assert!(stats.size <= 2, "{stats:?}");
        assert_eq!(pools.pool_count(), 1);
        pools.forget(i.id).await;
    };
    cleanly(body, async {
        drop_user(&my, &user).await;
        exec(&my.pool, format!("DROP TABLE IF EXISTS {t}")).await;
    })
    .await;
}

#[tokio::test]
async fn wrong_password_and_missing_privilege_are_authentication() {
    let my = common_db::mysql().await;
    let t = format!("hc_auth_{}", suffix());
    let user = format!("hc_ro_{}", suffix());
    exec(
        &my.pool,
        format!("CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, a TEXT)"),
    )
    .await;
    create_user(&my, &user, "right-pass", "SELECT", &t).await;
    let body = async {
        let mut config = my.config("mysql", &t, json!({"a": "a"}));
        config["username"] = json!(user);
        let pools = DatabasePools::default();

        let wrong = integration(config.clone(), Some("wrong-pass-123"));
        let d = pools
            .deliver(&wrong, &handoff(), &data(json!({"a": "x"})))
            .await;
        assert_failed(&d, ErrorCategory::Authentication);
        assert!(d.message.contains(&user), "{}", d.message);
        assert!(!d.message.contains("wrong-pass-123"), "{}", d.message);

        // The right password, but the user may only read.
        let right = integration(config, Some("right-pass"));
        let d = pools
            .deliver(&right, &handoff(), &data(json!({"a": "x"})))
            .await;
        assert_failed(&d, ErrorCategory::Authentication);
        assert!(d.message.contains("1142"), "{}", d.message);
        pools.forget(wrong.id).await;
        pools.forget(right.id).await;
        assert_eq!(count_mysql(&my.pool, &t).await, 0);
    };
    cleanly(body, async {
        drop_user(&my, &user).await;
        exec(&my.pool, format!("DROP TABLE IF EXISTS {t}")).await;
    })
    .await;
}

#[tokio::test]
async fn connection_refused_is_network() {
    let my = common_db::mysql().await;
    let mut config = my.config("mysql", "patient_data", seed_mapping());
    config["port"] = json!(closed_port());
    config["connectTimeoutMs"] = json!(500);
    let i = integration(config, Some("pw-must-not-leak"));
    let d = DatabasePools::default()
        .deliver(&i, &handoff(), &data(seed_data()))
        .await;
    assert_failed(&d, ErrorCategory::Network);
    assert!(!d.message.contains("pw-must-not-leak"));
}

#[tokio::test]
async fn fixed_values_are_inserted_in_the_columns_types() {
    let my = common_db::mysql().await;
    let t = format!("hc_fixed_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, patient_name TEXT NOT NULL,
               clinic_code VARCHAR(20) NOT NULL, site_no INT, urgent BOOLEAN,
               fee DECIMAL(6,2))"
        ),
    )
    .await;
    let body = async {
        let mut i = my_integration(&my, &t, json!({"fullName": "patient_name"}));
        set(&mut i, "fixedValues", fixed_values());
        let pools = DatabasePools::default();
        deliver_with_fixed_values(&pools, &i).await;
        assert_eq!(count_mysql(&my.pool, &t).await, 1, "the test rolled back");
        let got = mysql_texts(
            &my.pool,
            format!(
                "SELECT patient_name, clinic_code, CAST(site_no AS CHAR), CAST(urgent AS CHAR),
                        CAST(fee AS CHAR) FROM {t}"
            ),
        )
        .await;
        let got: Vec<&str> = got.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
        assert_eq!(got, ["Jane Doe", "C-42", "7", "1", "12.50"]);
        assert_unfit_fixed_value_refused(&pools, i).await;
        assert_eq!(count_mysql(&my.pool, &t).await, 1);
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn a_retry_of_a_handoff_whose_row_is_there_inserts_nothing() {
    let my = common_db::mysql().await;
    let (t, k) = (
        format!("hc_idem_{}", suffix()),
        format!("hc_idem_pk_{}", suffix()),
    );
    // With an AUTO_INCREMENT key beside the unique column, and the handoff id as the primary
    // key with none (MySQL tells a new row from an old one differently in each).
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY,
               patient_name VARCHAR(100) NOT NULL, handoff_id CHAR(36) UNIQUE);
             CREATE TABLE {k} (handoff_id CHAR(36) PRIMARY KEY,
               patient_name VARCHAR(100) NOT NULL)"
        ),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let mapping = json!({"fullName": "patient_name", "handoffId": "handoff_id"});
        for table in [&t, &k] {
            let i = my_integration(&my, table, mapping.clone());
            let id = deliver_twice(&pools, &i, "ON DUPLICATE KEY UPDATE `handoff_id` = ").await;
            assert_eq!(count_mysql(&my.pool, table).await, 1, "{table}");
            let got = mysql_texts(&my.pool, format!("SELECT handoff_id FROM {table}")).await;
            assert_eq!(got, [Some(id)]);
        }
    };
    cleanly(
        body,
        exec(
            &my.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP TABLE IF EXISTS {k}"),
        ),
    )
    .await;
}

#[tokio::test]
async fn a_conflict_on_another_unique_column_stays_validation() {
    let my = common_db::mysql().await;
    let (t, k) = (
        format!("hc_idem_{}", suffix()),
        format!("hc_idem_pk_{}", suffix()),
    );
    // ON DUPLICATE KEY UPDATE fires on any unique key: the email's conflict must not pass for
    // the handoff's row.
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY,
               patient_name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE,
               handoff_id CHAR(36) UNIQUE);
             CREATE TABLE {k} (handoff_id CHAR(36) PRIMARY KEY,
               patient_name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE)"
        ),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let mapping =
            json!({"fullName": "patient_name", "email": "email", "handoffId": "handoff_id"});
        for table in [&t, &k] {
            let i = my_integration(&my, table, mapping.clone());
            assert_another_unique_conflict_is_validation(
                &pools,
                &i,
                "ON DUPLICATE KEY UPDATE `handoff_id` = ",
            )
            .await;
            assert_eq!(count_mysql(&my.pool, table).await, 1, "{table}");
            let names = mysql_texts(&my.pool, format!("SELECT patient_name FROM {table}")).await;
            assert_eq!(
                names,
                [Some("Jane Doe".to_string())],
                "the first row is unchanged"
            );
        }
    };
    cleanly(
        body,
        exec(
            &my.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP TABLE IF EXISTS {k}"),
        ),
    )
    .await;
}
