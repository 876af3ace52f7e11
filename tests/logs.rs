//! What the console writes to stderr, running the real binary: no colour codes when stderr is
//! not a terminal, and no sqlx "slow statement" warnings at the default level.

mod common;
mod common_db;

use common::cli;
use common_db::{cleanly, exec, suffix};
use serde_json::{Value, json};
use std::process::Output;

/// Runs the binary on `data_dir` (vault secrets) with stderr to a pipe, not a terminal.
fn run(data_dir: &std::path::Path, args: &[&str]) -> Output {
    cli()
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--secrets", "vault"])
        .args(args)
        .env("HANDOFF_VAULT_PASSPHRASE", "a test passphrase")
        .env_remove("RUST_LOG")
        .env_remove("DEBUG_DATA_HANDOFF")
        .env_remove("NO_COLOR")
        .output()
        .expect("run the CLI")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write_json(dir: &std::path::Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn log_lines_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_json(
        dir.path(),
        "emr.json",
        &json!({"name": "emr", "kind": "api", "api": {"endpoint": "http://127.0.0.1:9/p"}}),
    );
    // -v logs at info: the save is logged.
    let out = run(
        &dir.path().join("data"),
        &["-v", "integration", "add", "--file", &config],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("integration added"), "{err}");
    assert!(!err.contains('\u{1b}'), "colour codes in a pipe: {err:?}");
}

#[tokio::test]
async fn postgres_slow_statements_are_not_warned_about_at_the_default_level() {
    let pg = common_db::postgres().await;
    let t = format!("slow_{}", suffix());
    // A BEFORE INSERT trigger that takes longer than sqlx's 1 s "slow statement" threshold.
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, full_name text NOT NULL);
             CREATE FUNCTION {t}_wait() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(1.2); RETURN NEW; END $$;
             CREATE TRIGGER {t}_wait BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_wait();"
        ),
    )
    .await;
    let body = async {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut database = pg.config("postgresql", &t, json!({"fullName": "full_name"}));
        database["statementTimeoutMs"] = json!(10_000);
        let config = write_json(
            dir.path(),
            "records.json",
            &json!({"name": "records", "kind": "database", "database": database,
                    "retry": {"maxAttempts": 1}}),
        );
        let data = write_json(dir.path(), "data.json", &json!({"fullName": "Ann Lee"}));
        let add = run(&data_dir, &["integration", "add", "--file", &config]);
        assert!(add.status.success(), "{}", stderr(&add));
        let send = |verbose: &[&str]| {
            let mut args = verbose.to_vec();
            args.extend([
                "send",
                "--integration",
                "records",
                "--session",
                "s-1",
                "--data",
                &data,
            ]);
            run(&data_dir, &args)
        };

        let quiet = send(&[]);
        assert!(quiet.status.success(), "{}", stderr(&quiet));
        assert!(
            !stderr(&quiet).contains("slow statement"),
            "{}",
            stderr(&quiet)
        );

        // The same send with -vvv (sqlx's own logs) shows the statement was slow indeed.
        let loud = send(&["-vvv"]);
        assert!(loud.status.success(), "{}", stderr(&loud));
        assert!(
            stderr(&loud).contains("slow statement"),
            "{}",
            stderr(&loud)
        );
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE {t}; DROP FUNCTION {t}_wait()"),
        ),
    )
    .await;
}
