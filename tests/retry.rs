//! Retry: automatic with backoff (and Retry-After), exhaustion into the failed list, manual
//! retries (one and bulk, with dry-run and progress), and a schedule that survives the process
//! being killed.

mod common;

use common::{Reply, Sink, TestApp, cli, closed_port};
use handoff_console::ErrorKind;
use handoff_console::attempts::{HistoryFilter, RetryFilter, Status, Trigger};
use handoff_console::targets::ErrorCategory;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn api_config(name: &str, url: &str, retry: Value) -> Value {
    json!({
        "name": name,
        "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true}],
        "api": {"endpoint": format!("{url}/patients"), "method": "POST", "payloadStructure": {"name": "{{fullName}}"},
                "timeoutMs": 2000, "connectTimeoutMs": 500},
        "retry": retry
    })
}

fn data() -> Value {
    json!({"fullName": "Ann Lee"})
}

/// Runs the worker until the handoff leaves `pending` (or 20 s pass).
async fn work_until_settled(t: &TestApp, handoff: handoff_console::ids::HandoffId) -> Status {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        t.app.run_due_retries().await.expect("worker pass");
        let h = t.app.store().handoff(handoff).await.unwrap().unwrap();
        if h.summary.status != Status::Pending || Instant::now() > deadline {
            return h.summary.status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn retryable_failures_are_retried_automatically_with_backoff_until_delivered() {
    let sink = Sink::start().await;
    sink.then([Reply::status(500), Reply::status(503)]);
    let t = TestApp::new().await;
    t.add(api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 5, "baseDelayMs": 100}),
    ))
    .await;

    let first = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert!(!first.success);
    assert_eq!(first.category, Some(ErrorCategory::Server));
    assert_eq!(first.handoff_status, Status::Pending);
    let due = first.next_retry_at.expect("a retry is scheduled");
    let delay = (due - chrono::Utc::now()).num_milliseconds();
    assert!(
        delay <= 100,
        "first backoff is at most the base delay, got {delay} ms"
    );

    assert_eq!(
        work_until_settled(&t, first.handoff_id).await,
        Status::Succeeded
    );
    let chain = t.app.store().attempts_of(first.handoff_id).await.unwrap();
    let numbers: Vec<u32> = chain.iter().map(|a| a.attempt_number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(!chain[0].automatic && chain[1].automatic && chain[2].automatic);
    assert_eq!(chain[1].trigger, Trigger::Retry);
    assert_eq!(chain[2].status, Status::Succeeded);
    // Second failure's backoff ceiling is base * 2.
    let second_delay =
        (chain[1].next_retry_at.unwrap() - chain[1].finished_at.unwrap()).num_milliseconds();
    assert!(
        (0..=200).contains(&second_delay),
        "second backoff {second_delay} ms"
    );
    // The same idempotency key on every try.
    let keys: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect();
    assert_eq!(keys, vec![first.handoff_id.to_string(); 3]);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let sink = Sink::start().await;
    sink.always(Reply::status(429).header("Retry-After", "2"));
    let t = TestApp::new().await;
    t.add(api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 3, "baseDelayMs": 10}),
    ))
    .await;
    let r = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(r.category, Some(ErrorCategory::Server));
    assert!(r.retryable);
    let wait = (r.next_retry_at.unwrap() - chrono::Utc::now()).num_milliseconds();
    assert!(
        wait > 1500,
        "Retry-After: 2 must delay the retry ~2 s, got {wait} ms"
    );
    // Not due yet: the worker leaves it alone.
    let pass = t.app.run_due_retries().await.unwrap();
    assert_eq!(pass.ran, 0);
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn exhausted_handoffs_end_failed_and_wait_in_the_failed_list() {
    let sink = Sink::start().await;
    sink.always(Reply::status(502));
    let t = TestApp::new().await;
    t.add(api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 3, "baseDelayMs": 10}),
    ))
    .await;
    let r = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(work_until_settled(&t, r.handoff_id).await, Status::Failed);
    assert_eq!(sink.count(), 3, "exactly maxAttempts tries");
    let last = t
        .app
        .store()
        .attempts_of(r.handoff_id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.next_retry_at, None);
    let failed = t
        .app
        .retry_failed(&RetryFilter::default(), true, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(failed.matched, 1);
    // Nothing more is scheduled.
    assert_eq!(t.app.run_due_retries().await.unwrap().ran, 0);
}

#[tokio::test]
async fn non_retryable_failures_are_not_rescheduled() {
    let sink = Sink::start().await;
    sink.always(Reply::json(422, json!({"message": "phone is invalid"})));
    let t = TestApp::new().await;
    t.add(api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 5, "baseDelayMs": 10}),
    ))
    .await;
    let r = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(r.category, Some(ErrorCategory::Validation));
    assert!(!r.retryable);
    assert_eq!(r.handoff_status, Status::Failed);
    assert_eq!(r.next_retry_at, None);
    assert!(r.message.contains("phone is invalid"), "{}", r.message);
}

#[tokio::test]
async fn manual_retry_resends_once_and_is_not_rescheduled() {
    let sink = Sink::start().await;
    sink.always(Reply::status(500));
    let t = TestApp::new().await;
    t.add(api_config("emr", &sink.url, json!({"maxAttempts": 1})))
        .await;
    let first = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(first.handoff_status, Status::Failed);

    let again = t.app.retry_attempt(first.attempt_id).await.unwrap();
    assert!(!again.success);
    assert_eq!(again.handoff_id, first.handoff_id);
    assert_eq!(again.attempt_number, 2);
    assert_eq!(again.next_retry_at, None, "manual retries are one-off");
    let (detail, _) = t.app.attempt(again.attempt_id).await.unwrap();
    assert_eq!(detail.previous_attempt_id, Some(first.attempt_id));

    sink.always(Reply::json(201, json!({"id": "p-7"})));
    let third = t.app.retry_attempt(again.attempt_id).await.unwrap();
    assert!(third.success);
    assert_eq!(third.submission_id.as_deref(), Some("p-7"));
    // A delivered handoff is not re-sent.
    let err = t.app.retry_attempt(third.attempt_id).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(sink.count(), 3);
}

#[tokio::test]
async fn retry_uses_the_integrations_current_config() {
    let down = closed_port();
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    t.add(api_config(
        "emr",
        &format!("http://127.0.0.1:{down}"),
        json!({"maxAttempts": 1}),
    ))
    .await;
    let first = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(first.category, Some(ErrorCategory::Network));
    let fixed =
        serde_json::from_value(api_config("emr", &sink.url, json!({"maxAttempts": 1}))).unwrap();
    t.app.update_integration("emr", fixed).await.unwrap();
    let again = t.app.retry_attempt(first.attempt_id).await.unwrap();
    assert!(again.success, "{}", again.message);
    assert_eq!(sink.received()[0].json(), json!({"name": "Ann Lee"}));
}

#[tokio::test]
async fn bulk_retry_matches_filters_counts_on_dry_run_and_reports_progress() {
    let sink_a = Sink::start().await;
    let sink_b = Sink::start().await;
    sink_a.always(Reply::status(500));
    sink_b.always(Reply::status(400));
    let t = TestApp::new().await;
    let a = t
        .add(api_config("a", &sink_a.url, json!({"maxAttempts": 1})))
        .await;
    t.add(api_config("b", &sink_b.url, json!({"maxAttempts": 1})))
        .await;
    for i in 0..3 {
        t.app
            .send("a", &format!("s-{i}"), data(), Trigger::Live)
            .await
            .unwrap();
    }
    t.app.send("b", "s-9", data(), Trigger::Live).await.unwrap();
    // A delivered one does not match.
    sink_a.then([Reply::status(201)]);
    assert!(
        t.app
            .send("a", "s-ok", data(), Trigger::Live)
            .await
            .unwrap()
            .success
    );

    let all = t
        .app
        .retry_failed(&RetryFilter::default(), true, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(all.matched, 4);
    let only_a = RetryFilter {
        integration: Some(a.id),
        ..Default::default()
    };
    let server = RetryFilter {
        category: Some(ErrorCategory::Server),
        ..Default::default()
    };
    assert_eq!(
        t.app
            .retry_failed(&only_a, true, &|_, _| {})
            .await
            .unwrap()
            .matched,
        3
    );
    assert_eq!(
        t.app
            .retry_failed(&server, true, &|_, _| {})
            .await
            .unwrap()
            .matched,
        3
    );
    let future = RetryFilter {
        since_ms: Some(chrono::Utc::now().timestamp_millis() + 60_000),
        ..Default::default()
    };
    assert_eq!(
        t.app
            .retry_failed(&future, true, &|_, _| {})
            .await
            .unwrap()
            .matched,
        0
    );
    let before = sink_a.count() + sink_b.count();
    assert_eq!(before, 5, "dry runs send nothing");

    sink_a.always(Reply::status(201));
    let seen = Mutex::new(Vec::new());
    let bulk = t
        .app
        .retry_failed(&only_a, false, &|done, total| {
            seen.lock().unwrap().push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(bulk.matched, 3);
    assert_eq!(bulk.results.len(), 3);
    assert!(bulk.results.iter().all(|r| r.success));
    assert_eq!(seen.into_inner().unwrap().last(), Some(&(3, 3)));
    assert_eq!(
        t.app
            .retry_failed(&RetryFilter::default(), true, &|_, _| {})
            .await
            .unwrap()
            .matched,
        1
    );
    let failed = HistoryFilter {
        status: Some(Status::Failed),
        ..Default::default()
    };
    assert_eq!(
        t.app.history(&failed).await.unwrap().len(),
        4,
        "history keeps the failed attempts"
    );
}

// Multi-threaded: the sink must keep answering while this thread waits on a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_written_by_one_process_is_run_by_another() {
    let sink = Sink::start().await;
    sink.then([Reply::status(503)]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("emr.json");
    std::fs::write(
        &cfg,
        api_config(
            "emr",
            &sink.url,
            json!({"maxAttempts": 3, "baseDelayMs": 50}),
        )
        .to_string(),
    )
    .unwrap();
    let data_file = dir.path().join("data.json");
    std::fs::write(&data_file, data().to_string()).unwrap();
    let store = dir.path().join("store");
    let run = |args: &[&str]| {
        let out = cli()
            .arg("--data-dir")
            .arg(&store)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
        )
    };
    assert_eq!(
        run(&["integration", "add", "--file", cfg.to_str().unwrap()]).0,
        Some(0)
    );
    let (code, sent) = run(&[
        "send",
        "--integration",
        "emr",
        "--session",
        "s-1",
        "--data",
        data_file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(sent["handoffStatus"], "pending");
    // The sending process has exited; a new one runs the retry once it is due.
    std::thread::sleep(Duration::from_millis(150));
    let (code, pass) = run(&["worker", "--once"]);
    assert_eq!(code, Some(0));
    assert_eq!(pass["succeeded"], 1, "{pass}");
    assert_eq!(sink.count(), 2);
}

#[tokio::test]
async fn an_attempt_cut_short_by_a_killed_process_is_taken_over_after_its_lease() {
    let sink = Sink::start().await;
    // The first request hangs long enough for the process to be killed mid-request.
    sink.then([Reply::status(201).delay(Duration::from_secs(10))]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 3, "baseDelayMs": 10}),
    );
    config["api"]["timeoutMs"] = json!(800);
    config["api"]["connectTimeoutMs"] = json!(200);
    let cfg = dir.path().join("emr.json");
    std::fs::write(&cfg, config.to_string()).unwrap();
    let data_file = dir.path().join("data.json");
    std::fs::write(&data_file, data().to_string()).unwrap();
    let store = dir.path().join("store");
    let status = cli()
        .arg("--data-dir")
        .arg(&store)
        .args(["integration", "add", "--file"])
        .arg(&cfg)
        .output()
        .unwrap()
        .status;
    assert!(status.success());

    let mut sender = common::ChildGuard(
        cli()
            .arg("--data-dir")
            .arg(&store)
            .args(["send", "--integration", "emr", "--session", "s-1", "--data"])
            .arg(&data_file)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.count() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sink.count(), 1, "the request reached the target");
    sender.kill().unwrap(); // SIGKILL: no chance to record the outcome
    sender.wait().unwrap();

    let t = handoff_console::App::open(&store).await.unwrap();
    let pending = t
        .history(&HistoryFilter {
            status: Some(Status::Pending),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        pending.len(),
        1,
        "the killed attempt was recorded before the request left"
    );
    let handoff = pending[0].handoff_id;
    // Within its lease (timeouts + margin) nobody takes it over ...
    assert_eq!(t.run_due_retries().await.unwrap().ran, 0);
    // ... after it, the worker does, with the same idempotency key.
    tokio::time::sleep(Duration::from_millis(6_200)).await;
    let pass = t.run_due_retries().await.unwrap();
    assert_eq!(pass.succeeded, 1, "{pass:?}");
    let chain = t.store().attempts_of(handoff).await.unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].status, Status::Failed);
    assert!(
        chain[0].message.starts_with("interrupted"),
        "{}",
        chain[0].message
    );
    assert_eq!(chain[1].status, Status::Succeeded);
    let keys: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect();
    assert_eq!(keys, vec![handoff.to_string(); 2]);
}

#[tokio::test]
async fn a_worker_told_to_stop_finishes_and_records_the_attempt_under_way() {
    let sink = Sink::start().await;
    sink.then([
        Reply::status(503),
        Reply::json(201, json!({"id": "late"})).delay(Duration::from_millis(800)),
    ]);
    let t = TestApp::new().await;
    t.add(api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 3, "baseDelayMs": 10}),
    ))
    .await;
    let first = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(first.handoff_status, Status::Pending);
    tokio::time::sleep(Duration::from_millis(30)).await;

    let started = Instant::now();
    // Asked to stop while the retry's request is still waiting on the target.
    let total = t
        .app
        .run_worker(
            Duration::from_millis(20),
            tokio::time::sleep(Duration::from_millis(200)),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "it waited for the attempt under way"
    );
    assert_eq!(total.succeeded, 1, "{total:?}");
    let chain = t.app.store().attempts_of(first.handoff_id).await.unwrap();
    assert_eq!(
        chain.last().unwrap().status,
        Status::Succeeded,
        "recorded, not left pending"
    );
}

#[tokio::test]
async fn a_manual_retry_of_a_scheduled_handoff_keeps_its_automatic_retries() {
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    let t = TestApp::new().await;
    t.add(api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 5, "baseDelayMs": 60000}),
    ))
    .await;
    let first = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(first.handoff_status, Status::Pending);
    // Scheduled, so not "failed for good": retry --failed leaves it to the schedule.
    assert_eq!(
        t.app
            .retry_failed(&RetryFilter::default(), true, &|_, _| {})
            .await
            .unwrap()
            .matched,
        0
    );
    let again = t.app.retry_attempt(first.attempt_id).await.unwrap();
    assert!(!again.success);
    assert_eq!(
        again.handoff_status,
        Status::Pending,
        "the automatic retries go on"
    );
    assert!(again.next_retry_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_without_its_keyring_postpones_the_retry_instead_of_failing_it() {
    let sink = Sink::start().await;
    sink.then([Reply::status(503)]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let app = handoff_console::App::open(&store).await.unwrap();
    let mut config = api_config(
        "emr",
        &sink.url,
        json!({"maxAttempts": 5, "baseDelayMs": 10}),
    );
    config["api"]["authentication"] = json!({"type": "bearer", "credentials": {"token": "t-1"}});
    app.add_integration(serde_json::from_value(config).unwrap())
        .await
        .unwrap();
    let first = app.send("emr", "s-1", data(), Trigger::Live).await.unwrap();
    assert_eq!(first.handoff_status, Status::Pending);
    app.close().await;
    tokio::time::sleep(Duration::from_millis(50)).await;

    // A worker process whose session has no D-Bus, so no keyring.
    let no_bus = format!("unix:path={}", dir.path().join("no-bus").display());
    let out = cli()
        .env("DBUS_SESSION_BUS_ADDRESS", &no_bus)
        .arg("--data-dir")
        .arg(&store)
        .args(["--json", "worker", "--once"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pass: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (pass["ran"].as_u64(), pass["skipped"].as_u64()),
        (Some(0), Some(1)),
        "{pass}"
    );
    assert_eq!(sink.count(), 1, "nothing was sent");

    let app = handoff_console::App::open(&store).await.unwrap();
    let h = app
        .store()
        .handoff(first.handoff_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.summary.status, Status::Pending, "still scheduled");
    assert_eq!(h.summary.attempts, 1, "no attempt used up");
    let later = (h.summary.next_retry_at.unwrap() - chrono::Utc::now()).num_seconds();
    assert!(later > 30, "postponed, not spinning: due in {later} s");
}

#[tokio::test]
async fn a_configuration_test_cut_short_is_closed_by_the_worker_not_resent() {
    use handoff_console::attempts::{BeginAttempt, Claim};
    use handoff_console::ids::{AttemptId, HandoffId};
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let i = t
        .add(api_config("emr", &sink.url, json!({"maxAttempts": 5})))
        .await;
    // What a `test` run leaves when its process dies mid-request: its handoff in flight, with a
    // lease that has run out.
    let handoff = HandoffId::new();
    let now = chrono::Utc::now().timestamp_millis();
    let begun = t
        .app
        .store()
        .begin_attempt(&BeginAttempt {
            attempt_id: AttemptId::new(),
            handoff_id: handoff,
            integration_id: i.id,
            integration_name: &i.name,
            session_id: "test-panel",
            trigger: Trigger::Test,
            automatic: false,
            previous_attempt_id: None,
            claim: Claim::New,
            data: Some(r#"{"fullName": "Ann Lee"}"#),
            data_masked: None,
            started_at: now - 60_000,
            lease_until: now - 1,
            owner: "test",
            taken_by: None,
        })
        .await
        .unwrap();
    assert_eq!(begun, Some(1));
    let pass = t.app.run_due_retries().await.unwrap();
    assert_eq!((pass.ran, pass.skipped), (0, 1), "{pass:?}");
    assert_eq!(sink.count(), 0, "test data is never re-sent by the worker");
    let h = t.app.store().handoff(handoff).await.unwrap().unwrap();
    assert_eq!(h.summary.status, Status::Failed);
    assert_eq!(h.summary.next_retry_at, None);
    let chain = t.app.store().attempts_of(handoff).await.unwrap();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0].status, Status::Failed);
    assert!(
        chain[0].message.contains("tests are never retried"),
        "{}",
        chain[0].message
    );
    // Nothing is due any more.
    assert_eq!(t.app.run_due_retries().await.unwrap().skipped, 0);
}

#[tokio::test]
async fn demo_samples_deliver_to_the_demo_database_and_fail_to_the_offline_api_with_a_retry() {
    let t = TestApp::new().await;
    // No demo yet: a notFound that says what to do.
    let err = t.app.send_demo_samples().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("create the demo first"), "{err}");

    let demo = t.app.create_demo().await.unwrap();
    let samples = t.app.send_demo_samples().await.unwrap();
    assert_eq!(samples.results.len(), 2);
    let mut ids: Vec<_> = samples.results.iter().map(|s| s.integration_id).collect();
    let mut demo_ids: Vec<_> = demo.iter().map(|i| i.id).collect();
    ids.sort();
    demo_ids.sort();
    assert_eq!(ids, demo_ids, "one sample per demo integration");
    let by_name = |name: &str| {
        samples
            .results
            .iter()
            .find(|s| s.integration_name == name)
            .unwrap_or_else(|| panic!("no sample for {name}"))
    };
    let db = by_name("Demo clinic database")
        .result
        .as_ref()
        .expect("the database sample was sent");
    assert!(db.success, "{}", db.message);
    assert_eq!(db.handoff_status, Status::Succeeded);
    let api = by_name("Demo EMR API (offline)")
        .result
        .as_ref()
        .expect("the API sample was sent");
    assert!(!api.success);
    assert_eq!(
        api.category,
        Some(ErrorCategory::Network),
        "{}",
        api.message
    );
    assert!(api.retryable);
    assert!(
        api.next_retry_at.is_some(),
        "an automatic retry is scheduled"
    );

    // Both are live handoffs of one `demo-…` session, and the row is in the demo's table with
    // generated (not fixed) data.
    let history = t
        .app
        .history(&HistoryFilter {
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    let session = &history[0].session_id;
    assert!(
        session.starts_with("demo-") && session.len() > 5,
        "{session}"
    );
    assert!(
        history
            .iter()
            .all(|a| &a.session_id == session && a.trigger == Trigger::Live)
    );
    let path = t.dir.path().join("demo").join("clinic.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let names: Vec<String> = sqlx::query_scalar("SELECT patient_name FROM patient_data")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(names.len(), 1);
    assert!(
        names[0].contains(' '),
        "a realistic full name: {}",
        names[0]
    );

    // Each run is a new session with new data.
    let again = t.app.send_demo_samples().await.unwrap();
    let history = t
        .app
        .history(&HistoryFilter {
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(history.len(), 4);
    assert_ne!(&history[0].session_id, session);
    assert_eq!(again.results.len(), 2);
}
