//! Pages deep into the attempt list (`App::history_page_query`) and the handoff list
//! (`App::handoffs_page_query`): from 10,000 rows on, a page is counted first and read from
//! whichever end of the list is nearer, in the other order, then turned round. Such a page must
//! hold exactly the rows a forward read of it holds, for every sort both ways, through ties
//! (rows sharing their start time, rows without a duration), searched or not.

use handoff_console::App;
use handoff_console::attempts::{
    AttemptSummary, HandoffFilter, HandoffRow, HandoffSort, HistoryFilter, HistorySort, SortKey,
    SortOrder,
};
use handoff_console::service::requests::{HandoffsQuery, HistoryQuery};
use handoff_console::store::STORE_FILE;

/// `n` handoffs, every third retried once, as the console's tables hold them: start times
/// shared by many rows, a third without a duration (pending), three statuses and sessions.
async fn write_history(pool: &sqlx::SqlitePool, n: usize) {
    let mut tx = pool.begin().await.unwrap();
    let integration = "00000000-0000-4000-8000-0000000000aa";
    for i in 0..n {
        let handoff = uuid::Uuid::from_u128(i as u128).to_string();
        let tries = if i % 3 == 0 { 2 } else { 1 };
        let session = format!("call-{}", i % 97);
        let mut last = String::new();
        for k in 0..tries {
            last = uuid::Uuid::from_u128((1 << 64) + (i * 2 + k) as u128).to_string();
        }
        sqlx::query(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts,
                 created_at, updated_at, integration_name, last_attempt_id)
             VALUES ($1, $2, $3, 'succeeded', '{}', $4, $5, $5, 'emr', $6)",
        )
        .bind(&handoff)
        .bind(integration)
        .bind(&session)
        .bind(tries as i64)
        .bind((i % 50) as i64)
        .bind(&last)
        .execute(&mut *tx)
        .await
        .unwrap();
        for k in 0..tries {
            let (status, duration) = match (i + k) % 3 {
                0 => ("pending", None),
                1 => ("succeeded", Some(((i * 7) % 40) as i64)),
                _ => ("succeeded", Some(((i * 11) % 40) as i64)),
            };
            sqlx::query(
                "INSERT INTO attempts (id, handoff_id, integration_id, integration_name,
                     session_id, trigger, attempt_number, status, message, started_at,
                     duration_ms)
                 VALUES ($1, $2, $3, $4, $5, 'live', $6, $7, '201 Created', $8, $9)",
            )
            .bind(uuid::Uuid::from_u128((1 << 64) + (i * 2 + k) as u128).to_string())
            .bind(&handoff)
            .bind(integration)
            .bind(["emr", "lab", "crm"][i % 3])
            .bind(&session)
            .bind(k as i64 + 1)
            .bind(status)
            .bind((i % 50) as i64)
            .bind(duration)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

/// A console on a new store holding `write_history(n)` (the store's dir goes with it).
async fn app_with_history(n: usize) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    App::open(dir.path()).await.unwrap().close().await;
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join(STORE_FILE).display()
    ))
    .await
    .unwrap();
    write_history(&pool, n).await;
    pool.close().await;
    let app = App::open(dir.path()).await.unwrap();
    (dir, app)
}

#[tokio::test]
async fn a_deep_page_read_from_the_end_is_the_page_read_from_the_start() {
    let (_dir, app) = app_with_history(8_000).await;
    let total = app
        .store()
        .history_count(&HistoryFilter::default())
        .await
        .unwrap();
    assert!(total > 10_500, "{total}");
    let ids = |rows: &[AttemptSummary]| rows.iter().map(|r| r.attempt_id).collect::<Vec<_>>();
    for key in SortKey::ALL {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for offset in [10_000, total - 150, total - 100, total - 1, total] {
                let page = app
                    .history_page_query(&HistoryQuery {
                        sort: Some(key),
                        order: Some(order),
                        offset: Some(offset),
                        limit: Some(100),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                let forward = app
                    .store()
                    .history(&HistoryFilter {
                        sort: Some(HistorySort {
                            key,
                            descending: order == SortOrder::Desc,
                        }),
                        offset: Some(offset),
                        limit: Some(100),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                assert_eq!(page.total, total);
                assert_eq!(page.offset, offset);
                assert_eq!(
                    ids(&page.rows),
                    ids(&forward),
                    "{key:?} {order:?} from {offset}"
                );
                assert_eq!(page.rows.len() as u64, 100.min(total - offset));
            }
        }
    }
    // A filter narrows the count the page is read against: the failed attempts alone are few,
    // so a deep offset is past the end.
    let past = app
        .history_page_query(&HistoryQuery {
            status: Some(handoff_console::attempts::Status::Failed),
            offset: Some(10_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((past.total, past.rows.len()), (0, 0));
    app.close().await;
}

#[tokio::test]
async fn a_deep_handoff_page_read_from_the_end_is_the_page_read_from_the_start() {
    // More than twice the depth from which a page is counted first: the deepest pages are
    // past the middle, and read from the end.
    let (_dir, app) = app_with_history(21_000).await;
    while app.store().index_history_search(5_000).await.unwrap() > 0 {}
    let ids = |rows: &[HandoffRow]| rows.iter().map(|r| r.handoff_id).collect::<Vec<_>>();
    // Every sort both ways; and a search every handoff's last attempt matches (counted from
    // the search index rather than the rollups), one sort.
    let cases = HandoffSort::ALL
        .iter()
        .flat_map(|s| [(*s, SortOrder::Asc, None), (*s, SortOrder::Desc, None)])
        .chain([(
            HandoffSort::Status,
            SortOrder::Desc,
            Some("CREATED".to_string()),
        )]);
    for (sort, order, q) in cases {
        let total = app
            .store()
            .handoff_count(&HandoffFilter {
                text: q.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(total, 21_000, "{q:?}");
        for offset in [10_000, 10_600, total - 150, total - 100, total - 1, total] {
            let page = app
                .handoffs_page_query(&HandoffsQuery {
                    sort: Some(sort),
                    order: Some(order),
                    q: q.clone(),
                    offset: Some(offset),
                    limit: Some(100),
                    ..Default::default()
                })
                .await
                .unwrap();
            let forward = app
                .store()
                .handoffs(&HandoffFilter {
                    sort,
                    order,
                    text: q.clone(),
                    offset: Some(offset),
                    limit: Some(100),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!((page.total, page.offset), (total, offset));
            assert_eq!(
                ids(&page.rows),
                ids(&forward),
                "{sort:?} {order:?} {q:?} from {offset}"
            );
            assert_eq!(page.rows.len() as u64, 100.min(total - offset));
        }
    }
    app.close().await;
}
