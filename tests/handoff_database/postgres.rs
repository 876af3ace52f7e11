//! PostgreSQL at `HANDOFF_TEST_PG_URL` (skipped when it is not set).
use super::*;

async fn pg_texts(pool: &PgPool, sql: String) -> Vec<Option<String>> {
    let row = sqlx::query(AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .expect("read back");
    (0..row.len())
        .map(|i| row.try_get::<Option<String>, _>(i).expect("text column"))
        .collect()
}

fn pg_config(pg: &Server<PgPool>, table: &str, mapping: Value) -> Value {
    pg.config("postgresql", table, mapping)
}

fn pg_integration(pg: &Server<PgPool>, table: &str, mapping: Value) -> ResolvedIntegration {
    integration(pg_config(pg, table, mapping), pg.password.as_deref())
}

/// A new table `{prefix}_…` of numbers (`id serial, n integer`), for the pool tests.
async fn numbers_table(pg: &Server<PgPool>, prefix: &str) -> String {
    let t = format!("{prefix}_{}", suffix());
    exec(
        &pg.pool,
        format!("CREATE TABLE {t} (id serial PRIMARY KEY, n integer)"),
    )
    .await;
    t
}

/// An integration inserting `n` into `table` through a pool of `size` connections, and the
/// application name its connections show in `pg_stat_activity`.
fn pooled_integration(
    pg: &Server<PgPool>,
    table: &str,
    size: u32,
) -> (ResolvedIntegration, String) {
    let mut config = pg_config(pg, table, json!({"n": "n"}));
    config["poolSize"] = json!(size);
    let i = integration(config, pg.password.as_deref());
    let app = format!("handoff-console:{}", i.id);
    (i, app)
}

#[tokio::test]
async fn typed_columns_are_converted_and_read_back() {
    let pg = common_db::postgres().await;
    let t = format!("hc_typed_{}", suffix());
    let ty = format!("{t}_mood");
    exec(
        &pg.pool,
        format!(
            "CREATE TYPE {ty} AS ENUM ('happy', 'sad');
             CREATE TABLE {t} (id bigserial PRIMARY KEY, qty integer, price numeric(10,2),
               ratio double precision, active boolean, visit date, slot time,
               seen_at timestamp, at_tz timestamptz, notes text, meta jsonb, raw json,
               ref uuid, mood {ty}, handoff uuid, session varchar(100), created timestamptz)"
        ),
    )
    .await;
    let body = async {
        let i = pg_integration(
            &pg,
            &t,
            json!({
                "qty": "qty", "price": "price", "ratio": "ratio", "active": "active",
                "visit": "visit", "slot": "slot", "seenAt": "seen_at", "atTz": "at_tz",
                "notes": "notes", "meta": "meta", "raw": "raw", "ref": "ref", "mood": "mood",
                "handoffId": "handoff", "sessionId": "session", "timestamp": "created",
            }),
        );
        let h = handoff();
        let pools = DatabasePools::default();
        let d = pools
            .deliver(
                &i,
                &h,
                &data(json!({
                    "qty": "42", "price": 12.5, "ratio": "0.25", "active": "yes",
                    "visit": "2024-05-31", "slot": "09:15",
                    "seenAt": "2024-05-31T14:30:00-05:00", "atTz": "2024-05-31T14:30:00+02:00",
                    "notes": 123, "meta": {"a": [1, 2]}, "raw": {"b": true},
                    "ref": "0190a3f0-1234-7000-8000-000000000001", "mood": "happy",
                })),
            )
            .await;
        assert_ok(&d);
        let sql = d.request["sql"].as_str().expect("sql");
        assert!(
            sql.starts_with(&format!("INSERT INTO \"public\".\"{t}\" (")),
            "{sql}"
        );
        assert!(sql.contains("AS NUMERIC)"), "{sql}");
        assert!(sql.contains(&format!("AS \"public\".\"{ty}\")")), "{sql}");
        assert!(sql.ends_with("RETURNING CAST(\"id\" AS TEXT)"), "{sql}");
        let params = d.request["params"].as_array().expect("params");
        assert_eq!(params.len(), 16);
        let price = params.iter().find(|p| p["column"] == "price").unwrap();
        assert_eq!(price["type"], "numeric");
        assert_eq!(price["value"], "12.5");

        let got = pg_texts(
            &pg.pool,
            format!(
                "SELECT id::text, qty::text, price::text, ratio::text, active::text, visit::text,
                        slot::text, seen_at::text, (at_tz AT TIME ZONE 'UTC')::text, notes,
                        meta::text, raw::text, ref::text, mood::text, handoff::text, session,
                        (created IS NOT NULL)::text
                 FROM {t}"
            ),
        )
        .await;
        assert_eq!(got[0], d.submission_id, "the returned id is the row's");
        let want = [
            "42",
            "12.50",
            "0.25",
            "true",
            "2024-05-31",
            "09:15:00",
            "2024-05-31 19:30:00",
            "2024-05-31 12:30:00",
            "123",
            "{\"a\": [1, 2]}",
            "{\"b\": true}",
            "0190a3f0-1234-7000-8000-000000000001",
            "happy",
        ];
        for (n, w) in want.iter().enumerate() {
            assert_eq!(got[n + 1].as_deref(), Some(*w), "column {}", n + 1);
        }
        assert_eq!(got[14], Some(h.handoff_id.to_string()));
        assert_eq!(got[15].as_deref(), Some("session-1"));
        assert_eq!(got[16].as_deref(), Some("true"));

        // NULLs are bound with the column's type.
        let d = pools
            .deliver(
                &i,
                &h,
                &data(json!({"qty": null, "price": null, "meta": null, "mood": null})),
            )
            .await;
        assert_ok(&d);
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP TYPE IF EXISTS {ty}"),
        ),
    )
    .await;
}

const PG_SEED_TABLE: &str = "(
    id SERIAL PRIMARY KEY,
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
    let pg = common_db::postgres().await;
    let t = format!("patient_data_{}", suffix());
    exec(&pg.pool, format!("CREATE TABLE {t} {PG_SEED_TABLE}")).await;
    let body = async {
        let i = pg_integration(&pg, &t, seed_mapping());
        let targets = Targets::default();
        for n in 1..=2 {
            let d = targets.deliver(&i, &handoff(), &data(seed_data())).await;
            assert_ok(&d);
            assert_eq!(d.message, format!("inserted 1 row into {t} (id {n})"));
            assert_eq!(d.submission_id, Some(n.to_string()));
            assert_eq!(d.response_excerpt, Some(n.to_string()));
        }
        let got = pg_texts(
            &pg.pool,
            format!(
                "SELECT patient_name, email, phone, appointment_date::text, notes, source,
                        (submission_timestamp IS NOT NULL)::text FROM {t} WHERE id = 2"
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
            "true",
        ];
        assert_eq!(got, want.map(|s| Some(s.to_string())).to_vec());
        targets.forget(i.id).await;
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn missing_table_and_column_are_configuration() {
    let pg = common_db::postgres().await;
    let t = format!("patient_data_{}", suffix());
    exec(&pg.pool, format!("CREATE TABLE {t} {PG_SEED_TABLE}")).await;
    let body = async {
        let pools = DatabasePools::default();
        let h = handoff();
        let absent = format!("absent_{}", suffix());
        let i = pg_integration(&pg, &absent, seed_mapping());
        let d = pools.deliver(&i, &h, &data(seed_data())).await;
        assert_failed(&d, ErrorCategory::Configuration);
        assert!(d.message.contains(&absent), "{}", d.message);

        let mut mapping = seed_mapping();
        mapping["email"] = json!("email_address");
        let i = pg_integration(&pg, &t, mapping);
        let d = pools.deliver(&i, &h, &data(seed_data())).await;
        assert_failed(&d, ErrorCategory::Configuration);
        assert!(
            d.message.contains("'email_address'") && d.message.contains("patient_name"),
            "{}",
            d.message
        );
        assert_eq!(count_pg(&pg.pool, &t).await, 0);
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn constraint_violations_are_validation_and_roll_back() {
    let pg = common_db::postgres().await;
    let t = format!("hc_c_{}", suffix());
    // `code` is checked only at COMMIT: the row is inserted, then the commit fails, and the
    // transaction must leave nothing behind.
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, patient_name text NOT NULL,
               email text UNIQUE, code text,
               CONSTRAINT {t}_code UNIQUE (code) DEFERRABLE INITIALLY DEFERRED)"
        ),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let i = pg_integration(
            &pg,
            &t,
            json!({"fullName": "patient_name", "email": "email", "code": "code"}),
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
        assert!(d.message.contains("not-null"), "{}", d.message);
        let d = pools
            .deliver(&i, &h, &data(json!({"email": "a@example.com"})))
            .await;
        assert_failed(&d, ErrorCategory::Validation);
        assert_eq!(count_pg(&pg.pool, &t).await, 0);

        let first = json!({"fullName": "A", "email": "a@example.com", "code": "c1"});
        assert_ok(&pools.deliver(&i, &h, &data(first)).await);
        let d = pools
            .deliver(
                &i,
                &h,
                &data(json!({"fullName": "B", "email": "a@example.com", "code": "c2"})),
            )
            .await;
        assert_failed(&d, ErrorCategory::Validation);
        assert!(!d.message.contains("a@example.com"), "{}", d.message);
        let d = pools
            .deliver(
                &i,
                &h,
                &data(json!({"fullName": "C", "email": "c@example.com", "code": "c1"})),
            )
            .await;
        assert_failed(&d, ErrorCategory::Validation);
        assert!(d.message.contains(&format!("{t}_code")), "{}", d.message);
        assert_eq!(count_pg(&pg.pool, &t).await, 1);
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn unconvertible_value_is_refused_before_sending() {
    let pg = common_db::postgres().await;
    let t = format!("hc_v_{}", suffix());
    exec(
        &pg.pool,
        format!("CREATE TABLE {t} (id serial PRIMARY KEY, qty integer, visit date)"),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let i = pg_integration(&pg, &t, json!({"qty": "qty", "visit": "visit"}));
        for (payload, field) in [
            (json!({"qty": "forty-two", "visit": "2024-01-01"}), "qty"),
            (json!({"qty": 1, "visit": "31/01/2024"}), "visit"),
        ] {
            let d = pools.deliver(&i, &handoff(), &data(payload)).await;
            assert_failed(&d, ErrorCategory::Validation);
            assert!(
                d.message.contains(&format!("field '{field}'"))
                    && d.message.contains(&format!("column {field}")),
                "{}",
                d.message
            );
            assert!(d.request.is_null());
        }
        assert_eq!(count_pg(&pg.pool, &t).await, 0);
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn identifiers_that_try_to_inject_sql_are_refused() {
    let pg = common_db::postgres().await;
    let victim = format!("hc_victim_{}", suffix());
    exec(&pg.pool, format!("CREATE TABLE {victim} (a text)")).await;
    let body = async {
        let pools = DatabasePools::default();
        assert_injection_refused(
            &pools,
            pg_config(
                &pg,
                &format!("{victim}; DROP TABLE {victim}"),
                json!({"a": "a"}),
            ),
            "database.table",
        )
        .await;
        assert_injection_refused(
            &pools,
            pg_config(&pg, &victim, json!({"a": "a\") VALUES ('x'); --"})),
            "database.fieldMapping.a",
        )
        .await;
        assert_eq!(count_pg(&pg.pool, &victim).await, 0, "the table is intact");
    };
    cleanly(
        body,
        exec(&pg.pool, format!("DROP TABLE IF EXISTS {victim}")),
    )
    .await;
}

#[tokio::test]
async fn pool_is_reused_and_bounded() {
    let pg = common_db::postgres().await;
    let t = numbers_table(&pg, "hc_pool").await;
    let body = async {
        let (i, app) = pooled_integration(&pg, &t, 2);
        let connections = || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(app.clone())
            .fetch_one(&pg.pool)
            .await
            .expect("pg_stat_activity")
        };
        let targets = Targets::default();
        let h = handoff();
        let all = join_all((0..30).map(|n| {
            let (i, h, targets) = (&i, &h, &targets);
            async move { targets.deliver(i, h, &data(json!({"n": n}))).await }
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
        assert_eq!(count_pg(&pg.pool, &t).await, 30);
        // A second round reuses the same connections.
        for n in 0..10 {
            assert_ok(&targets.deliver(&i, &h, &data(json!({"n": n}))).await);
        }
        let open = connections().await;
        assert!(
            (1..=2).contains(&open),
            "{open} connections for a pool of 2"
        );
        assert_eq!(targets.database.pool_count(), 1);
        let stats = targets.database.pool_stats(i.id).expect("a pool");
        assert!(stats.size <= 2, "{stats:?}");

        targets.forget(i.id).await;
        assert_eq!(targets.database.pool_count(), 0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while connections().await > 0 {
            assert!(
                Instant::now() < deadline,
                "the pool's connections were not closed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

/// A pooled connection the server ended while it sat idle is not handed to a delivery: after a
/// quiet second the pool pings a connection before a delivery takes it, finds this one gone and
/// opens another, so the delivery succeeds. (One taken again within the second is not pinged:
/// sqlx pinged it as it came back.)
#[tokio::test]
async fn a_connection_the_server_ended_while_idle_is_replaced_before_a_delivery() {
    let pg = common_db::postgres().await;
    let t = numbers_table(&pg, "hc_idle").await;
    let body = async {
        let (i, app) = pooled_integration(&pg, &t, 1);
        let targets = Targets::default();
        let h = handoff();
        assert_ok(&targets.deliver(&i, &h, &data(json!({"n": 1}))).await);
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&app)
        .fetch_all(&pg.pool)
        .await
        .expect("terminate the pool's connection");
        assert_eq!(ended, [true], "the pool's one connection ended");
        tokio::time::sleep(Duration::from_millis(1_200)).await;

        assert_ok(&targets.deliver(&i, &h, &data(json!({"n": 2}))).await);
        assert_eq!(count_pg(&pg.pool, &t).await, 2);
        targets.forget(i.id).await;
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn changed_settings_get_a_new_pool() {
    let pg = common_db::postgres().await;
    let t = numbers_table(&pg, "hc_pool").await;
    let body = async {
        let mut i = pg_integration(&pg, &t, json!({"n": "n"}));
        let pools = DatabasePools::default();
        let h = handoff();
        assert_ok(&pools.deliver(&i, &h, &data(json!({"n": 1}))).await);
        assert_eq!(
            pools.pool_stats(i.id).unwrap().max_connections,
            5,
            "default size"
        );
        set(&mut i, "poolSize", json!(3));
        assert_ok(&pools.deliver(&i, &h, &data(json!({"n": 2}))).await);
        assert_eq!(pools.pool_stats(i.id).unwrap().max_connections, 3);
        assert_eq!(pools.pool_count(), 1);
        pools.forget(i.id).await;
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn connection_refused_is_network() {
    let pg = common_db::postgres().await;
    let mut config = pg_config(&pg, "patient_data", seed_mapping());
    config["port"] = json!(closed_port());
    config["connectTimeoutMs"] = json!(500);
    let i = integration(config, Some("pw-must-not-leak"));
    let started = Instant::now();
    let d = DatabasePools::default()
        .deliver(&i, &handoff(), &data(seed_data()))
        .await;
    assert_failed(&d, ErrorCategory::Network);
    assert!(d.message.contains("could not reach"), "{}", d.message);
    assert!(!d.message.contains("pw-must-not-leak"));
    assert!(!d.request.to_string().contains("pw-must-not-leak"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn schema_qualified_table() {
    let pg = common_db::postgres().await;
    let s = format!("hc_s_{}", suffix());
    let t = format!("patients_{}", suffix());
    // The same name in `public`, without the column: the configured schema must win.
    exec(
        &pg.pool,
        format!(
            "CREATE SCHEMA {s};
             CREATE TABLE {s}.{t} (id serial PRIMARY KEY, patient_name text NOT NULL);
             CREATE TABLE public.{t} (other text)"
        ),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let i = pg_integration(
            &pg,
            &format!("{s}.{t}"),
            json!({"fullName": "patient_name"}),
        );
        let d = pools.deliver(&i, &handoff(), &data(seed_data())).await;
        assert_ok(&d);
        assert_eq!(d.submission_id.as_deref(), Some("1"));
        assert!(
            d.request["sql"]
                .as_str()
                .unwrap()
                .starts_with(&format!("INSERT INTO \"{s}\".\"{t}\"")),
            "{}",
            d.request
        );
        assert_eq!(count_pg(&pg.pool, &format!("{s}.{t}")).await, 1);
        assert_eq!(count_pg(&pg.pool, &format!("public.{t}")).await, 0);

        let i = pg_integration(&pg, &t, json!({"fullName": "patient_name"}));
        let d = pools.deliver(&i, &handoff(), &data(seed_data())).await;
        assert_failed(&d, ErrorCategory::Configuration);
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP SCHEMA IF EXISTS {s} CASCADE; DROP TABLE IF EXISTS public.{t}"),
        ),
    )
    .await;
}

#[tokio::test]
async fn schema_changes_are_picked_up() {
    let pg = common_db::postgres().await;
    let t = format!("hc_sc_{}", suffix());
    exec(
        &pg.pool,
        format!("CREATE TABLE {t} (id serial PRIMARY KEY, a text)"),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let mut i = pg_integration(&pg, &t, json!({"a": "a"}));
        let h = handoff();
        assert_ok(&pools.deliver(&i, &h, &data(json!({"a": "1"}))).await);

        exec(&pg.pool, format!("ALTER TABLE {t} ADD COLUMN b integer")).await;
        set_mapping(&mut i, json!({"a": "a", "b": "b"}));
        assert_ok(
            &pools
                .deliver(&i, &h, &data(json!({"a": "2", "b": "2"})))
                .await,
        );

        exec(&pg.pool, format!("ALTER TABLE {t} RENAME COLUMN b TO c")).await;
        let d = pools
            .deliver(&i, &h, &data(json!({"a": "3", "b": 3})))
            .await;
        assert_failed(&d, ErrorCategory::Configuration);
        assert!(d.message.contains("column 'b'"), "{}", d.message);

        exec(&pg.pool, format!("ALTER TABLE {t} RENAME COLUMN c TO b")).await;
        assert_ok(
            &pools
                .deliver(&i, &h, &data(json!({"a": "4", "b": 4})))
                .await,
        );

        // A type change: the cached type says integer, the live one text.
        exec(
            &pg.pool,
            format!("ALTER TABLE {t} ALTER COLUMN b TYPE text"),
        )
        .await;
        assert_ok(
            &pools
                .deliver(&i, &h, &data(json!({"a": "5", "b": "five"})))
                .await,
        );
        // ... and back: the same statement text now binds an integer.
        exec(
            &pg.pool,
            format!("ALTER TABLE {t} ALTER COLUMN b TYPE integer USING NULL"),
        )
        .await;
        assert_ok(
            &pools
                .deliver(&i, &h, &data(json!({"a": "6", "b": "6"})))
                .await,
        );
        let d = pools
            .deliver(&i, &h, &data(json!({"a": "7", "b": "seven"})))
            .await;
        assert_failed(&d, ErrorCategory::Validation);
        assert_eq!(count_pg(&pg.pool, &t).await, 5);
        pools.forget(i.id).await;
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn missing_privilege_is_authentication() {
    let pg = common_db::postgres().await;
    let t = format!("hc_priv_{}", suffix());
    let role = format!("hc_ro_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, a text);
             CREATE ROLE {role} LOGIN PASSWORD 'ro-pass';
             GRANT SELECT ON {t} TO {role}"
        ),
    )
    .await;
    let body = async {
        let mut config = pg_config(&pg, &t, json!({"a": "a"}));
        config["username"] = json!(role);
        let i = integration(config, Some("ro-pass"));
        let pools = DatabasePools::default();
        let d = pools
            .deliver(&i, &handoff(), &data(json!({"a": "x"})))
            .await;
        assert_failed(&d, ErrorCategory::Authentication);
        assert!(d.message.contains(&role), "{}", d.message);
        assert!(!d.message.contains("ro-pass"), "{}", d.message);
        pools.forget(i.id).await;
        assert_eq!(count_pg(&pg.pool, &t).await, 0);
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP ROLE IF EXISTS {role}"),
        ),
    )
    .await;
}

#[tokio::test]
async fn statement_timeout_is_timeout_and_rolls_back() {
    let pg = common_db::postgres().await;
    let t = format!("hc_slow_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, a text);
             CREATE FUNCTION {t}_slow() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$;
             CREATE TRIGGER {t}_slow BEFORE INSERT ON {t}
               FOR EACH ROW EXECUTE FUNCTION {t}_slow()"
        ),
    )
    .await;
    let body = async {
        let mut config = pg_config(&pg, &t, json!({"a": "a"}));
        config["statementTimeoutMs"] = json!(300);
        let i = integration(config, pg.password.as_deref());
        let pools = DatabasePools::default();
        let started = Instant::now();
        let d = pools
            .deliver(&i, &handoff(), &data(json!({"a": "x"})))
            .await;
        assert_failed(&d, ErrorCategory::Timeout);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(d.request["sql"].is_string());
        pools.forget(i.id).await;
        assert_eq!(count_pg(&pg.pool, &t).await, 0);
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP FUNCTION IF EXISTS {t}_slow()"),
        ),
    )
    .await;
}

/// A delivery's insert is one statement in autocommit (no `BEGIN`/`COMMIT` round trips): a
/// deferred trigger, which runs when the row's transaction commits, runs within the insert's
/// own statement. A configuration test, which reads its row back and may roll it back, still
/// runs in a transaction: its deferred trigger runs in the later `COMMIT`.
#[tokio::test]
async fn a_delivery_inserts_in_autocommit_and_a_test_in_a_transaction() {
    let pg = common_db::postgres().await;
    let t = format!("hc_autocommit_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, a text, handoff_id uuid UNIQUE,
               inserted_in timestamptz NOT NULL DEFAULT statement_timestamp(),
               committed_in timestamptz);
             CREATE FUNCTION {t}_at_commit() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN
                 UPDATE {t} SET committed_in = statement_timestamp() WHERE id = NEW.id;
                 RETURN NULL;
               END $$;
             CREATE CONSTRAINT TRIGGER {t}_at_commit AFTER INSERT ON {t}
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {t}_at_commit()"
        ),
    )
    .await;
    let body = async {
        let i = pg_integration(&pg, &t, json!({"a": "a", "handoffId": "handoff_id"}));
        let pools = DatabasePools::default();
        let same_statement = |a: &'static str| {
            let sql = format!("SELECT inserted_in = committed_in FROM {t} WHERE a = $1");
            let pool = pg.pool.clone();
            async move {
                sqlx::query_scalar::<_, bool>(AssertSqlSafe(sql))
                    .bind(a)
                    .fetch_one(&pool)
                    .await
                    .expect("the row")
            }
        };
        let d = pools
            .deliver(&i, &handoff(), &data(json!({"a": "delivered"})))
            .await;
        assert_ok(&d);
        assert!(
            same_statement("delivered").await,
            "the delivery committed in its insert"
        );

        let test = pools
            .deliver_as(
                &i,
                &handoff(),
                &data(json!({"a": "tested"})),
                Mode::Test { commit: true },
            )
            .await;
        assert_ok(&test);
        assert!(test.details.row.is_some(), "the test row read back");
        assert!(
            !same_statement("tested").await,
            "the test committed after its insert"
        );

        // The same handoff delivered again: nothing inserted, the row found.
        let h = handoff();
        let first = pools.deliver(&i, &h, &data(json!({"a": "once"}))).await;
        assert_ok(&first);
        let again = pools.deliver(&i, &h, &data(json!({"a": "once"}))).await;
        assert_ok(&again);
        assert!(again.details.already_there);
        assert_eq!(again.submission_id, first.submission_id);
        assert_eq!(count_pg(&pg.pool, &t).await, 3);
        pools.forget(i.id).await;
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP FUNCTION IF EXISTS {t}_at_commit()"),
        ),
    )
    .await;
}

#[tokio::test]
async fn fixed_values_are_inserted_in_the_columns_types() {
    let pg = common_db::postgres().await;
    let t = format!("hc_fixed_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, patient_name text NOT NULL,
               clinic_code varchar(20) NOT NULL, site_no integer, urgent boolean,
               fee numeric(6,2))"
        ),
    )
    .await;
    let body = async {
        let mut i = pg_integration(&pg, &t, json!({"fullName": "patient_name"}));
        set(&mut i, "fixedValues", fixed_values());
        let pools = DatabasePools::default();
        let d = deliver_with_fixed_values(&pools, &i).await;
        assert!(d.request["sql"].as_str().unwrap().contains("AS NUMERIC)"));
        assert_eq!(count_pg(&pg.pool, &t).await, 1, "the test rolled back");
        let got = pg_texts(
            &pg.pool,
            format!(
                "SELECT patient_name, clinic_code, site_no::text, urgent::text, fee::text FROM {t}"
            ),
        )
        .await;
        let got: Vec<&str> = got.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
        assert_eq!(got, ["Jane Doe", "C-42", "7", "true", "12.50"]);
        assert_unfit_fixed_value_refused(&pools, i).await;
        assert_eq!(count_pg(&pg.pool, &t).await, 1);
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn a_retry_of_a_handoff_whose_row_is_there_inserts_nothing() {
    let pg = common_db::postgres().await;
    let (t, k) = (
        format!("hc_idem_{}", suffix()),
        format!("hc_idem_pk_{}", suffix()),
    );
    // A unique column beside the serial key, and the handoff id as the primary key itself.
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, patient_name text NOT NULL,
               handoff_id uuid UNIQUE);
             CREATE TABLE {k} (handoff_id text PRIMARY KEY, patient_name text NOT NULL)"
        ),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let mapping = json!({"fullName": "patient_name", "handoffId": "handoff_id"});
        for table in [&t, &k] {
            let i = pg_integration(&pg, table, mapping.clone());
            let id = deliver_twice(&pools, &i, "ON CONFLICT (\"handoff_id\") DO NOTHING").await;
            assert_eq!(count_pg(&pg.pool, table).await, 1, "{table}");
            let got = pg_texts(&pg.pool, format!("SELECT handoff_id::text FROM {table}")).await;
            assert_eq!(got, [Some(id)]);
        }
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP TABLE IF EXISTS {k}"),
        ),
    )
    .await;
}

#[tokio::test]
async fn a_conflict_on_another_unique_column_stays_validation() {
    let pg = common_db::postgres().await;
    let t = format!("hc_idem_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, patient_name text NOT NULL,
               email text UNIQUE, handoff_id uuid UNIQUE)"
        ),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let i = pg_integration(
            &pg,
            &t,
            json!({"fullName": "patient_name", "email": "email", "handoffId": "handoff_id"}),
        );
        assert_another_unique_conflict_is_validation(
            &pools,
            &i,
            "ON CONFLICT (\"handoff_id\") DO NOTHING",
        )
        .await;
        assert_eq!(count_pg(&pg.pool, &t).await, 1);
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

#[tokio::test]
async fn a_unique_constraint_added_after_the_columns_were_read_is_used() {
    let pg = common_db::postgres().await;
    let t = format!("hc_idem_{}", suffix());
    exec(
        &pg.pool,
        format!("CREATE TABLE {t} (id serial PRIMARY KEY, patient_name text, handoff_id uuid)"),
    )
    .await;
    let body = async {
        let pools = DatabasePools::default();
        let i = pg_integration(
            &pg,
            &t,
            json!({"fullName": "patient_name", "handoffId": "handoff_id"}),
        );
        let h = handoff();
        let collected = data(json!({"fullName": "Jane Doe"}));
        let first = pools.deliver(&i, &h, &collected).await;
        assert_ok(&first);
        // The pool keeps the columns it read; the clinic then makes the column unique.
        exec(&pg.pool, format!("ALTER TABLE {t} ADD UNIQUE (handoff_id)")).await;
        let again = pools.deliver(&i, &h, &collected).await;
        assert_ok(&again);
        assert!(again.message.contains("already there"), "{}", again.message);
        assert_eq!(count_pg(&pg.pool, &t).await, 1);
        pools.forget(i.id).await;
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE IF EXISTS {t}"))).await;
}

/// The console's binary on a data dir of its own, with the vault for secrets (so no keyring is
/// needed), as a clinic would run it.
struct Console {
    dir: tempfile::TempDir,
}

impl Console {
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_handoff-console"));
        cmd.arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .env("HANDOFF_SECRETS", "vault")
            .env("HANDOFF_VAULT_PASSPHRASE", "a test passphrase")
            .env_remove("RUST_LOG")
            .env_remove("HANDOFF_DATA_DIR")
            // A test that fails midway leaves no console running.
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs a command to its end: its exit code and stdout as one JSON document.
    async fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("the CLI finished within 60 s")
            .expect("run the CLI");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: stdout is not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().expect("exit code"), doc)
    }

    fn file(&self, name: &str, value: &Value) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, value.to_string()).expect("write file");
        path.to_str().expect("utf-8 path").to_string()
    }
}

/// The reproduction: the console is killed after the target committed the row but before
/// it recorded the attempt (a deferred trigger holds the COMMIT long enough to kill
/// `handoff-console send` in it; PostgreSQL finishes a commit whose client went away). The
/// worker's retry, once the dead attempt's lease ran out, must find the row: delivered, one row.
#[tokio::test]
async fn a_send_killed_after_the_commit_is_retried_without_a_second_row() {
    let pg = common_db::postgres().await;
    let t = format!("hc_crash_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, patient_name text NOT NULL,
               handoff_id uuid UNIQUE);
             CREATE FUNCTION {t}_slow() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
             CREATE CONSTRAINT TRIGGER {t}_slow AFTER INSERT ON {t}
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {t}_slow()"
        ),
    )
    .await;
    let body = async {
        let c = Console {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let mut db = pg_config(
            &pg,
            &t,
            json!({"fullName": "patient_name", "handoffId": "handoff_id"}),
        );
        // Short timeouts keep the dead attempt's lease (2 × connect + 3 × statement + 5 s) short.
        db["connectTimeoutMs"] = json!(500);
        db["statementTimeoutMs"] = json!(2000);
        if let Some(p) = &pg.password {
            db["password"] = json!(p);
        }
        let config = json!({
            "name": "crash", "kind": "database",
            "fields": [{"name": "fullName", "type": "name", "required": true}],
            "database": db,
            "retry": {"maxAttempts": 3, "baseDelayMs": 10, "maxDelayMs": 10},
        });
        let path = c.file("crash.json", &config);
        let (code, added) = c
            .json(&["integration", "add", "--file", &path, "--json"])
            .await;
        assert_eq!(code, 0, "{added}");
        let app_name = format!("handoff-console:{}", added["id"].as_str().expect("id"));
        let data_path = c.file("data.json", &json!({"fullName": "Jane Doe"}));

        let mut send = c
            .command(&[
                "send",
                "--integration",
                "crash",
                "--session",
                "s-crash",
                "--data",
                &data_path,
                "--json",
            ])
            .spawn()
            .expect("spawn send");
        // The COMMIT is running the deferred trigger: kill the console right there.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let sleeping: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = $1 AND wait_event = 'PgSleep'",
            )
            .bind(&app_name)
            .fetch_one(&pg.pool)
            .await
            .expect("pg_stat_activity");
            if sleeping > 0 {
                break;
            }
            if let Some(status) = send.try_wait().expect("poll send") {
                panic!("send ended before its COMMIT could be caught: {status}");
            }
            assert!(Instant::now() < deadline, "the COMMIT never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        send.kill().await.expect("kill send");
        // PostgreSQL finishes the commit although its client is gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while count_pg(&pg.pool, &t).await == 0 {
            assert!(Instant::now() < deadline, "the row was never committed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, history) = c.json(&["history", "--json"]).await;
        assert_eq!(
            history[0]["status"], "pending",
            "nothing was recorded: {history}"
        );

        // The worker takes the handoff over once the dead attempt's lease has run out.
        let deadline = Instant::now() + Duration::from_secs(40);
        let pass = loop {
            let (code, pass) = c.json(&["worker", "--once", "--json"]).await;
            assert!(code == 0 || code == 1, "{pass}");
            if pass["ran"].as_u64().unwrap_or(0) > 0 {
                break pass;
            }
            assert!(
                Instant::now() < deadline,
                "the worker never took the handoff over"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(count_pg(&pg.pool, &t).await, 1, "no second row");
        let (_, history) = c.json(&["history", "--json"]).await;
        assert_eq!(pass["succeeded"], 1, "{pass}\n{history:#}");
        let retry = &history[0];
        assert_eq!(retry["status"], "succeeded", "{history:#}");
        assert_eq!(retry["trigger"], "retry");
        let message = retry["message"].as_str().unwrap_or_default();
        assert!(message.contains("already there"), "{message}");
        assert_eq!(
            history[1]["status"], "failed",
            "the killed attempt: {history:#}"
        );
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP FUNCTION IF EXISTS {t}_slow()"),
        ),
    )
    .await;
}
