//! Budgets and the cost ledger through the real api: create, read, change (resuming parked
//! jobs), delete; bad input as problems; the ledger's filters and totals. The paid path itself
//! (reserve → call → settle, parking under an exhausted budget) is tested with the jobs that
//! spend, against a fake provider.

use e2e::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn budgets_are_created_read_changed_and_deleted() {
    let app = spawn_app().await;
    let (status, day) = app
        .send(
            Method::POST,
            "/budgets",
            Some(json!({"provider": "openai", "period": "day", "limit_micros": 2_000_000})),
        )
        .await;
    assert_eq!(status, 201, "{day}");
    let id = day["id"].as_str().unwrap().to_owned();
    assert_eq!(day["spent_micros"], 0);
    assert_eq!(day["remaining_micros"], 2_000_000);
    assert_eq!(day["parked_jobs"], 0);
    let start =
        chrono::DateTime::parse_from_rfc3339(day["period_start"].as_str().unwrap()).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(day["period_end"].as_str().unwrap()).unwrap();
    assert_eq!((end - start).num_hours(), 24, "{day}");

    let (status, again) = app
        .send(
            Method::POST,
            "/budgets",
            Some(json!({"provider": "openai", "period": "day", "limit_micros": 1})),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(
        app.send(
            Method::POST,
            "/budgets",
            Some(json!({"provider": "openai", "period": "month", "limit_micros": 30_000_000})),
        )
        .await
        .0,
        201
    );

    let (status, list) = app
        .send(Method::GET, "/budgets?provider=openai", None)
        .await;
    assert_eq!(status, 200);
    let periods: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods, vec!["day", "month"]);
    let (_, none) = app
        .send(Method::GET, "/budgets?provider=anthropic", None)
        .await;
    assert_eq!(none["items"], json!([]));

    let (status, changed) = app
        .send(
            Method::PATCH,
            &format!("/budgets/{id}"),
            Some(json!({"limit_micros": 5_000_000})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["budget"]["limit_micros"], 5_000_000);
    assert_eq!(changed["resumed_jobs"], 0);

    let (status, audit) = app
        .send(Method::GET, &format!("/audit?target={id}"), None)
        .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["budget.update", "budget.create"]);

    let (status, deleted) = app
        .send(Method::DELETE, &format!("/budgets/{id}"), None)
        .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(
        app.send(Method::GET, &format!("/budgets/{id}"), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn bad_budget_input_is_a_problem_naming_the_field() {
    let app = spawn_app().await;
    for (body, path) in [
        (
            json!({"provider": "Open AI", "period": "day", "limit_micros": 1}),
            "provider",
        ),
        (
            json!({"provider": "openai", "period": "week", "limit_micros": 1}),
            "period",
        ),
        (
            json!({"provider": "openai", "period": "day", "limit_micros": -5}),
            "limit_micros",
        ),
        (
            json!({"provider": "openai", "period": "day", "limit_micros": "lots"}),
            "limit_micros",
        ),
        (json!({"provider": "openai", "period": "day"}), ""),
        (
            json!({"provider": "openai", "period": "day", "limit_micros": 1, "currency": "EUR"}),
            "currency",
        ),
    ] {
        let (status, problem) = app.send(Method::POST, "/budgets", Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["path"], path, "{body}: {problem}");
    }
    for query in [
        "entry=refund",
        "job_id=12",
        "since=yesterday",
        "until=2026-13-01",
        "limit=0",
        "cursor=x",
    ] {
        let (status, problem) = app
            .send(Method::GET, &format!("/costs?{query}"), None)
            .await;
        assert_eq!(status, 422, "{query}: {problem}");
        let field = query.split('=').next().unwrap();
        assert_eq!(problem["errors"][0]["path"], field, "{query}: {problem}");
    }
    let (status, problem) = app
        .send(
            Method::PATCH,
            &format!("/budgets/{}", uuid::Uuid::now_v7()),
            Some(json!({"limit_micros": 10})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), problem["status"].clone()),
        (404, json!(404))
    );
}

#[tokio::test]
async fn the_ledger_lists_with_filters_and_totals() {
    let app = spawn_app().await;
    let tenant: uuid::Uuid =
        sqlx::query_scalar("SELECT tenant_id FROM api_keys ORDER BY created_at LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // Two paid calls as a job makes them: one settled, one released.
    let spend = |model: &'static str, estimate: i64| jobs::budgets::SpendRequest {
        tenant_id: tenant,
        provider: "openai",
        model,
        job_id: None,
        estimate_micros: estimate,
        attribution: Default::default(),
    };
    let a = jobs::budgets::reserve(&app.pool, &spend("gpt-a", 900))
        .await
        .unwrap();
    a.settle(
        &app.pool,
        &jobs::budgets::Usage {
            cost_micros: 750,
            prompt_tokens: 1000,
            completion_tokens: 50,
        },
    )
    .await
    .unwrap();
    let b = jobs::budgets::reserve(&app.pool, &spend("gpt-b", 400))
        .await
        .unwrap();
    let held = jobs::budgets::reserve(&app.pool, &spend("gpt-b", 300))
        .await
        .unwrap();
    b.release(&app.pool, "HTTP 500").await.unwrap();

    let (status, all) = app.send(Method::GET, "/costs", None).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert_eq!(
        all["totals"],
        json!({"spent_micros": 750, "held_micros": 300, "calls": 1,
               "prompt_tokens": 1000, "completion_tokens": 50})
    );
    let (_, b_only) = app
        .send(Method::GET, "/costs?model=gpt-b&entry=release", None)
        .await;
    let items = b_only["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{b_only}");
    assert_eq!(items[0]["note"], "HTTP 500");
    assert_eq!(items[0]["amount_micros"], 400);
    let (_, paged) = app.send(Method::GET, "/costs?limit=2", None).await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    let cursor = paged["next_cursor"].as_str().expect("more pages");
    let (_, rest) = app
        .send(
            Method::GET,
            &format!("/costs?limit=10&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert!(rest.get("next_cursor").is_none(), "{rest}");
    let (_, future) = app
        .send(Method::GET, "/costs?since=2999-01-01T00:00:00Z", None)
        .await;
    assert_eq!(future["items"], json!([]));
    assert_eq!(future["totals"]["spent_micros"], 0);
    held.release(&app.pool, "test over").await.unwrap();
}
