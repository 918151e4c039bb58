//! Economics, end to end: two push sources' signals classified by a real worker (keywords, or a
//! fake OpenAI-compatible LLM whose every answer reports 1,000 prompt and 50 completion tokens:
//! 180 micro-dollars at the test prices), scored into leads, exported to a fake partner that
//! buys at 12.50 USD, one sale returned by a signed postback; then every figure of
//! `GET /economics` per source and in total, to the micro-dollar, and its CSV.

use std::time::Duration;

use chrono::Utc;
use e2e::{App, spawn_app_with, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const T: Duration = Duration::from_secs(90);
const MODEL: &str = "gpt-4o-mini";
const PRICES: &str =
    r#"{"gpt-4o-mini": {"input_per_mtok_micros": 150000, "output_per_mtok_micros": 600000}}"#;
/// One call: 1,000 × 0.15 + 50 × 0.6 micro-dollars.
const CALL_MICROS: i64 = 180;

fn rules() -> Value {
    json!({
        "categories": ["plumbing", "solar"],
        "terms": [
            {"term": "need a plumber", "weight": 70, "category": "plumbing"},
            {"term": "solar", "weight": 20, "category": "solar"}
        ],
        "thresholds": {"relevant": 60, "irrelevant": 10}
    })
}

async fn fake_llm() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-econ", "object": "chat.completion", "created": 1_763_800_000,
            "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                "content": r#"{"relevant": true, "category": "solar", "confidence": 0.9, "reasons": ["wants solar"]}"#}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}
        })))
        .mount(&server)
        .await;
    server
}

/// Buys every lead at 12.50, naming it `p-<idempotency key>`.
async fn fake_partner() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|r: &wiremock::Request| {
            let key = r
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            ResponseTemplate::new(200).set_body_json(
                json!({"status": "accepted", "lead_id": format!("p-{key}"), "price": "12.50"}),
            )
        })
        .mount(&server)
        .await;
    server
}

async fn push(app: &App, items: &[(&str, &str)]) -> (String, Vec<String>) {
    let (status, source) = app
        .send(Method::POST, "/sources", Some(json!({"kind": "push"})))
        .await;
    assert_eq!(status, 201, "{source}");
    let source = source["id"].as_str().unwrap().to_owned();
    let batch: Vec<Value> = items
        .iter()
        .map(|(t, c)| json!({"title": t, "content": c}))
        .collect();
    let (status, report) = app
        .send(
            Method::POST,
            &format!("/sources/{source}/signals"),
            Some(json!({ "items": batch })),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["inserted"], items.len(), "{report}");
    let mut ids = vec![];
    for (title, _) in items {
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM signals WHERE title = $1")
            .bind(title)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        ids.push(id.to_string());
    }
    (source, ids)
}

async fn enqueue(app: &App, job: Value) {
    app.enqueue(job).await;
}

async fn count(app: &App, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

async fn succeeded(app: &App, kind: &'static str, n: i64) {
    wait_until(&format!("{n} {kind} jobs to succeed"), T, async || {
        let done: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = $1 AND state = 'succeeded'")
                .bind(kind)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        (done == n).then_some(()).ok_or(format!("{done} of {n}"))
    })
    .await;
}

fn figures_of<'a>(report: &'a Value, key: &str) -> &'a Value {
    &report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key}: {report}"))["figures"]
}

#[tokio::test]
async fn two_sources_through_classification_scoring_and_export_add_up_to_the_micro_dollar() {
    let llm = fake_llm().await;
    let buyer = fake_partner().await;
    let app = spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let (status, ruleset) = app
        .send(
            Method::POST,
            "/rulesets",
            Some(json!({"name": "home", "rules": rules()})),
        )
        .await;
    assert_eq!(status, 201, "{ruleset}");
    let ruleset = ruleset["id"].as_str().unwrap().to_owned();
    let (status, partner) = app
        .send(
            Method::POST,
            "/partners",
            Some(json!({
                "name": "buyer", "mode": "direct", "post_url": format!("{}/leads", buyer.uri()),
                "template": {"score": "{{ lead.score }}"}, "rate_limit_per_min": 6000,
                "currency": "USD",
                "auth": {"kind": "header", "header": "X-Api-Key", "token": "buyer-token"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{partner}");
    let partner_id = partner["partner"]["id"].as_str().unwrap().to_owned();
    let secret = partner["postback_secret"].as_str().unwrap().to_owned();

    // A: two posts the keywords leave undecided (two paid calls). B: one the keywords decide,
    // one undecided (one paid call).
    let (a, a_signals) = push(
        &app,
        &[
            (
                "Solar for a barn",
                "Would solar panels on an old barn roof pay back in ten winters?",
            ),
            (
                "Solar and batteries",
                "Thinking of solar with a battery wall for a lake cabin up north.",
            ),
        ],
    )
    .await;
    let (b, b_signals) = push(
        &app,
        &[
            (
                "Kitchen flood",
                "We need a plumber tonight, the kitchen sink pipe burst everywhere.",
            ),
            (
                "Solar on a garage",
                "Is solar on a flat garage roof worth it with maples shading it?",
            ),
        ],
    )
    .await;
    let llm_env = [
        ("LLM_BASE_URL", format!("{}/v1", llm.uri())),
        ("LLM_API_KEY", "sk-e2e".to_owned()),
        ("LLM_MODEL", MODEL.to_owned()),
        ("LLM_PRICES", PRICES.to_owned()),
    ];
    let env: Vec<(&str, &str)> = llm_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _worker = app.spawn_worker(&env);
    let signals: Vec<&String> = a_signals.iter().chain(&b_signals).collect();
    for s in &signals {
        enqueue(
            &app,
            json!({"kind": "classify_signal", "args": {"signal_id": s, "ruleset_id": ruleset}}),
        )
        .await;
    }
    succeeded(&app, "classify_signal", 4).await;
    for (s, category) in signals.iter().zip(["solar", "solar", "plumbing", "solar"]) {
        enqueue(
            &app,
            json!({"kind": "score_lead", "args": {"signal_id": s, "category": category}}),
        )
        .await;
    }
    succeeded(&app, "score_lead", 4).await;
    assert_eq!(count(&app, "SELECT count(*) FROM leads").await, 4);

    // Export A's two leads and B's undecided one; B's plumbing lead stays home.
    let lead_of = async |signal: &str| -> String {
        let id: uuid::Uuid =
            sqlx::query_scalar("SELECT lead_id FROM lead_signals WHERE signal_id = $1::uuid")
                .bind(signal)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        id.to_string()
    };
    let exported = [
        lead_of(&a_signals[0]).await,
        lead_of(&a_signals[1]).await,
        lead_of(&b_signals[1]).await,
    ];
    for lead in &exported {
        let (status, body) = app
            .send(
                Method::POST,
                &format!("/leads/{lead}/status"),
                Some(json!({"status": "qualified"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app
            .send(Method::POST, &format!("/leads/{lead}/export"), None)
            .await;
        assert_eq!(status, 202, "{body}");
    }
    succeeded(&app, "export_lead", 3).await;
    // The buyer returns B's lead.
    let returned: String =
        sqlx::query_scalar("SELECT partner_lead_id FROM partner_exports WHERE lead_id = $1::uuid")
            .bind(&exported[2])
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let body =
        json!({"event": "returned", "lead_id": returned, "reason": "wrong number"}).to_string();
    let res = app
        .http
        .post(format!(
            "{}/api/v1/partners/{partner_id}/postback",
            app.base
        ))
        .header("content-type", "application/json")
        .header(
            "X-Demandflow-Signature",
            jobs::signing::sign(&secret, Utc::now(), body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (status, report) = app
        .send(Method::GET, "/economics?group_by=source", None)
        .await;
    assert_eq!(status, 200, "{report}");
    let fa = figures_of(&report, &a);
    let usd = |sales: i64, cents: i64, returns: i64, back: i64| {
        json!([{"currency": "USD", "sales": sales, "sales_cents": cents, "returns": returns,
                "returns_cents": back, "net_cents": cents + back}])
    };
    assert_eq!(
        (
            &fa["signals"],
            &fa["classified_keyword"],
            &fa["classified_llm"],
            &fa["classified_memo"]
        ),
        (&json!(2), &json!(0), &json!(2), &json!(0)),
        "{report}"
    );
    assert_eq!(
        (
            &fa["leads"],
            &fa["leads_exported"],
            &fa["leads_confirmed"],
            &fa["returns"]
        ),
        (&json!(2), &json!(2), &json!(2), &json!(0))
    );
    assert_eq!(
        (&fa["paid_calls"], &fa["cost_micros"]),
        (&json!(2), &json!(2 * CALL_MICROS))
    );
    assert_eq!(fa["revenue"], usd(2, 2_500, 0, 0));
    assert_eq!(fa["cost_per_lead_micros"], 180);
    assert_eq!(fa["cost_per_confirmed_lead_micros"], 180);
    // (25,000,000 − 360) / 360 = 69,443.4444 → 694,434,444 basis points
    assert_eq!(fa["roi_basis_points"], 694_434_444);
    let fb = figures_of(&report, &b);
    assert_eq!(
        (
            &fb["signals"],
            &fb["classified_keyword"],
            &fb["classified_llm"],
            &fb["classified_memo"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(0)),
        "{report}"
    );
    assert_eq!(
        (
            &fb["leads"],
            &fb["leads_exported"],
            &fb["leads_confirmed"],
            &fb["returns"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(
        (&fb["paid_calls"], &fb["cost_micros"]),
        (&json!(1), &json!(CALL_MICROS))
    );
    assert_eq!(fb["revenue"], usd(1, 1_250, 1, -1_250));
    assert_eq!(fb["cost_per_lead_micros"], 90);
    assert_eq!(fb["cost_per_confirmed_lead_micros"], 180);
    assert_eq!(fb["roi_basis_points"], -10_000);
    let t = &report["totals"];
    assert_eq!(
        (
            &t["signals"],
            &t["classified_keyword"],
            &t["classified_llm"],
            &t["leads"]
        ),
        (&json!(4), &json!(1), &json!(3), &json!(4))
    );
    assert_eq!(
        (
            &t["leads_exported"],
            &t["leads_confirmed"],
            &t["returns"],
            &t["cost_micros"]
        ),
        (&json!(3), &json!(3), &json!(1), &json!(3 * CALL_MICROS))
    );
    assert_eq!(t["revenue"], usd(3, 3_750, 1, -1_250));
    assert_eq!(t["cost_per_lead_micros"], 135);
    assert_eq!(t["cost_per_confirmed_lead_micros"], 180);
    // (25,000,000 − 540) / 540 = 46,295.2963 → 462,952,963
    assert_eq!(t["roi_basis_points"], 462_952_963);
    // The ledger agrees: every settled micro-dollar is attributed to a source.
    assert_eq!(
        count(
            &app,
            "SELECT coalesce(sum(amount_micros), 0)::int8 FROM cost_ledger
             WHERE entry = 'settle' AND source_id IS NOT NULL AND category = 'solar'"
        )
        .await,
        3 * CALL_MICROS
    );

    // Per category: the cost sits under what the calls decided.
    let (_, by_category) = app
        .send(Method::GET, "/economics?group_by=category", None)
        .await;
    assert_eq!(
        figures_of(&by_category, "solar")["cost_micros"],
        3 * CALL_MICROS
    );
    assert_eq!(figures_of(&by_category, "plumbing")["cost_micros"], 0);

    // The CSV: a row per source (and currency), then the totals.
    let csv = app.text("/economics/export?group_by=source").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("group_by,key,name,signals"), "{csv}");
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[3]
            .starts_with("total,,,4,1,3,0,4,3,3,1,3,540,135,180,462952963,USD,3,3750,-1250,2500"),
        "{csv}"
    );

    // The forecast per source: A's history (2 signals, 2 leads, both sold, $25.00 net) scaled
    // to 100 items.
    let (status, e) = app
        .send(
            Method::POST,
            "/budgets/estimate",
            Some(json!({"source_id": a, "expected_items": 100})),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    let f = &e["forecast"];
    assert_eq!(f["basis"], "source", "{e}");
    assert_eq!(
        (&f["history_signals"], &f["history_leads"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        (&f["expected_leads"], &f["expected_confirmed_leads"]),
        (&json!(100), &json!(100))
    );
    assert_eq!(
        f["expected_revenue"],
        json!([{"currency": "USD", "net_cents": 125_000}])
    );
    assert!(!f["assumptions"].as_array().unwrap().is_empty());

    watch_alerts_and_the_dashboard(&app, (&a, &b)).await;

    // Hostile parameters: 422 problems, never a 500.
    for q in [
        "group_by=partner",
        "since=yesterday",
        "since=2026-02-01&until=2026-01-01",
        "group_by=%00",
        "until=2026-13-45",
    ] {
        let (status, body) = app
            .send(Method::GET, &format!("/economics?{q}"), None)
            .await;
        assert_eq!(status, 422, "{q}: {body}");
        let res = app
            .request(Method::GET, &format!("/economics/export?{q}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{q}");
    }
    let huge = "x".repeat(4_000);
    let (status, _) = app
        .send(Method::GET, &format!("/economics?group_by={huge}"), None)
        .await;
    assert!(status.is_client_error(), "{status}");
}

/// The economics watch on the same world: A ($0.000180 per confirmed lead, ROI far above zero)
/// crosses a $0.000150 ceiling; B crosses it and has a negative ROI (its one sale returned).
/// Three breaches, three alerts by webhook, once each; then the dashboard shows the money.
async fn watch_alerts_and_the_dashboard(app: &App, (a, b): (&str, &str)) {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let (status, destination) = app
        .send(
            Method::POST,
            "/destinations",
            Some(json!({"name": "money", "kind": "webhook",
                        "settings": {"url": format!("{}/money", hook.uri())}})),
        )
        .await;
    assert_eq!(status, 201, "{destination}");
    let (status, rule) = app
        .send(
            Method::POST,
            "/alert-rules",
            Some(
                json!({"name": "sources losing money", "event": "source.economics",
                        "destination_ids": [destination["destination"]["id"]]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    for (bad, path) in [
        (json!({"negative_roi": false}), "negative_roi"),
        (
            json!({"negative_roi": true, "window_days": 0}),
            "window_days",
        ),
        (
            json!({"max_cost_per_confirmed_lead_micros": -5}),
            "max_cost_per_confirmed_lead_micros",
        ),
        (json!({"negative_roi": true, "surprise": 1}), "surprise"),
        (json!({"negative_roi": "yes"}), "negative_roi"),
    ] {
        let (status, problem) = app
            .send(Method::PUT, "/economics/watch", Some(bad.clone()))
            .await;
        assert_eq!(status, 422, "{bad}: {problem}");
        assert!(problem.to_string().contains(path), "{bad}: {problem}");
    }
    let (status, _) = app.send(Method::GET, "/economics/watch", None).await;
    assert_eq!(status, 404);
    let watch_body = json!({"max_cost_per_confirmed_lead_micros": 150, "negative_roi": true,
                            "min_cost_micros": 0});
    let (status, watch) = app
        .send(Method::PUT, "/economics/watch", Some(watch_body.clone()))
        .await;
    assert_eq!(status, 200, "{watch}");
    assert_eq!(watch["window_days"], 7);

    let posts = wait_until(
        "three economics alerts",
        Duration::from_secs(30),
        async || {
            let got = hook.received_requests().await.unwrap_or_default();
            (got.len() >= 3).then_some(got)
        },
    )
    .await;
    // Judged again (the watch is set anew): the breaches hold, no event is written.
    let (status, _) = app
        .send(Method::PUT, "/economics/watch", Some(watch_body))
        .await;
    assert_eq!(status, 200);
    wait_until("the watch judged again", Duration::from_secs(30), async || {
        (count(
            app,
            "SELECT count(*) FROM economics_watches WHERE next_check_at > now() + interval '4 minutes'",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
    assert_eq!(
        count(
            app,
            "SELECT count(*) FROM events WHERE type = 'source.economics'"
        )
        .await,
        3
    );
    assert_eq!(hook.received_requests().await.unwrap().len(), 3);
    let mut seen: Vec<(String, String)> = posts
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let data = &body["data"];
            (
                data["source_id"].as_str().unwrap_or_default().to_owned(),
                data["condition"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let mut want = vec![
        (a.to_owned(), "cost_per_confirmed_lead".to_owned()),
        (b.to_owned(), "cost_per_confirmed_lead".to_owned()),
        (b.to_owned(), "negative_roi".to_owned()),
    ];
    want.sort();
    assert_eq!(seen, want);
    let (_, watch) = app.send(Method::GET, "/economics/watch", None).await;
    assert_eq!(watch["breaches"].as_array().unwrap().len(), 3, "{watch}");
    let audit = count(
        app,
        "SELECT count(*) FROM audit_log WHERE action = 'economics.watch.set'",
    )
    .await;
    assert_eq!(audit, 2);

    // The dashboard: a row per source with its ROI, the partner's revenue, two lines a day.
    let dom =
        crate::dashboard::rendered(&format!("{}/dashboard?static#key={}", app.base, app.key)).await;
    let row = |attr: &str, id: &str| crate::dashboard::row_of(&dom, attr, id);
    let ra = row("data-source", a);
    assert!(ra.contains("$0.0004") && ra.contains("25.00 USD"), "{ra}");
    let rb = row("data-source", b);
    assert!(rb.contains("-100.0 %") && rb.contains("over"), "{rb}");
    let partner = row("data-partner", "buyer");
    assert!(
        partner.contains("37.50 USD") && partner.contains("25.00 USD"),
        "{partner}"
    );
    for series in ["cost", "revenue"] {
        assert!(
            dom.contains(&format!(r#"data-series="{series}""#)),
            "the chart draws {series}"
        );
    }
    // Signals and leads are listed with their states.
    assert_eq!(dom.matches("data-signal=").count(), 4, "every signal");
    assert!(
        dom.contains("Solar for a barn") && dom.contains("Kitchen flood"),
        "signal titles"
    );
    assert_eq!(dom.matches("data-lead=").count(), 4, "every lead");
    for status in ["returned", "exported"] {
        assert!(
            dom.contains(&format!(r#"class="state {status}">{status}<"#)),
            "a lead {status}"
        );
    }
    let bytes = crate::dashboard::screenshot(
        &format!("{}/dashboard?static#key={}", app.base, app.key),
        "economics",
    )
    .await;
    assert!(bytes > 20_000, "{bytes} bytes");

    let (status, _) = app.send(Method::DELETE, "/economics/watch", None).await;
    assert_eq!(status, 204);
    let (status, _) = app.send(Method::DELETE, "/economics/watch", None).await;
    assert_eq!(status, 404);
}
