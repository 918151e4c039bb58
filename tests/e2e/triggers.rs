//! Workflow triggers and run events: cron schedules fired exactly once per tick by two real
//! workers, schedule validation, signed webhooks, the SSE stream of a real run with
//! `Last-Event-ID` resume, and the demo pipeline that `scripts/dev` posts.

use std::time::Duration;

use chrono::Utc;
use e2e::{App, spawn_app, wait_until};
use jobs::signing::sign;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const T: Duration = Duration::from_secs(90);

async fn create_workflow(app: &App, definition: Value) -> String {
    let res = app
        .request(Method::POST, "/workflows")
        .json(&json!({"name": "triggered", "definition": definition}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn get(app: &App, path: &str) -> Value {
    let res = app.request(Method::GET, path).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    res.json().await.unwrap()
}

fn paths(problem: &Value) -> Vec<String> {
    let mut p: Vec<String> = problem["errors"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect();
    p.sort();
    p
}

#[tokio::test]
async fn two_workers_start_exactly_one_run_per_cron_tick() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [{"name": "a", "kind": "noop", "args": {"output": "{{ input.tag }}"}}]}),
    )
    .await;
    // Two scheduler processes against one database, ticking often so they race for each second.
    let env = [("SCHEDULER_TICK_MS", "50")];
    let _w1 = app.spawn_worker(&env);
    let _w2 = app.spawn_worker(&env);
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/schedules"))
        .json(&json!({"cron": "* * * * * *", "catch_up": "all", "input": {"tag": "tick"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let schedule: Value = res.json().await.unwrap();
    let id = schedule["id"].as_str().unwrap().to_owned();
    assert_eq!(schedule["time_zone"], "UTC");
    assert!(schedule["next_fire_at"].is_string());

    let count = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM workflow_runs WHERE trigger ->> 'schedule_id' = $1",
        )
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    wait_until("the schedule to fire 8 times", T, async || {
        let fired = count().await;
        if fired >= 8 {
            Ok(())
        } else {
            Err(format!("{fired} runs"))
        }
    })
    .await;
    // Stop it: the change waits for a tick holding the row, and nothing fires after it.
    let res = app
        .request(Method::PATCH, &format!("/schedules/{id}"))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let fires: Vec<chrono::DateTime<Utc>> = sqlx::query_scalar(
        r#"SELECT (trigger ->> 'fire_at')::timestamptz FROM workflow_runs
           WHERE trigger ->> 'schedule_id' = $1 ORDER BY 1"#,
    )
    .bind(&id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut distinct = fires.clone();
    distinct.dedup();
    assert_eq!(fires, distinct, "a tick made two runs");
    assert!(
        fires
            .windows(2)
            .all(|w| w[1] - w[0] == chrono::Duration::seconds(1)),
        "a tick made no run: {fires:?}"
    );
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM workflow_schedule_fires WHERE schedule_id = $1::text::uuid AND run_id IS NOT NULL")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(recorded as usize, fires.len());
    // The runs are real: each ran its step with the schedule's input.
    let runs = get(&app, &format!("/runs?workflow={wf}&limit=500")).await;
    let last = runs["items"][0]["id"].as_str().unwrap().to_owned();
    let done = app
        .wait_run(&last, &["succeeded", "failed", "cancelled"])
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"][0]["output"], "tick");
    assert_eq!(done["trigger"]["type"], "schedule");
    assert_eq!(done["trigger"]["schedule_id"], id.as_str());
    let shown = get(&app, &format!("/schedules/{id}")).await;
    assert_eq!(shown["enabled"], false);
    assert!(shown.get("next_fire_at").is_none(), "{shown}");
    assert!(shown["last_run_id"].is_string());
}

#[tokio::test]
async fn schedules_are_validated_listed_changed_and_deleted() {
    let app = spawn_app().await;
    let wf = create_workflow(&app, json!({"steps": [{"name": "a", "kind": "noop"}]})).await;
    let post = |body: Value| {
        app.request(Method::POST, &format!("/workflows/{wf}/schedules"))
            .json(&body)
            .send()
    };
    let res = post(json!({"cron": "61 * * * *", "time_zone": "Mars/Olympus", "catch_up": "twice"}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let problem: Value = res.json().await.unwrap();
    assert_eq!(
        paths(&problem),
        ["catch_up", "cron", "time_zone"],
        "{problem}"
    );
    let res = post(json!({"time_zone": "UTC"})).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(paths(&res.json().await.unwrap()), ["cron"]);
    let res = post(json!({"cron": "0 0 30 2 *"})).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "never fires"
    );

    let res =
        post(json!({"cron": "30 9 * * 1-5", "time_zone": "Europe/Berlin", "catch_up": "skip"}))
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let s: Value = res.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["catch_up"], "skip");
    let next = chrono::DateTime::parse_from_rfc3339(s["next_fire_at"].as_str().unwrap()).unwrap();
    let local = next.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(local.format("%H:%M").to_string(), "09:30", "{next}");

    let listed = get(&app, &format!("/workflows/{wf}/schedules")).await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let res = app
        .request(Method::PATCH, &format!("/schedules/{id}"))
        .json(&json!({"time_zone": "Not/AZone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(paths(&res.json().await.unwrap()), ["time_zone"]);
    let res = app
        .request(Method::PATCH, &format!("/schedules/{id}"))
        .json(&json!({"cron": "@hourly", "time_zone": "Asia/Kolkata", "input": {"x": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["input"], json!({"x": 1}));
    // Kolkata is UTC+05:30: its hours fall at half past in UTC.
    assert!(
        changed["next_fire_at"].as_str().unwrap().contains(":30:00"),
        "{changed}"
    );

    // A viewer reads but does not change.
    let viewer = app.create_key("acme", "viewer").await;
    let res = app
        .http
        .post(format!("{}/api/v1/workflows/{wf}/schedules", app.base))
        .header("X-API-Key", &viewer)
        .json(&json!({"cron": "* * * * *"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = app
        .request(Method::DELETE, &format!("/schedules/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .request(Method::GET, &format!("/schedules/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE target_type = 'schedule' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        ["schedule.create", "schedule.update", "schedule.delete"]
    );
}

#[tokio::test]
async fn a_signed_webhook_starts_a_run_with_its_body_and_anything_else_is_refused() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [{"name": "greet", "kind": "noop", "args": {"output": "hello {{ input.lead.name }}"}}]}),
    )
    .await;
    let _worker = app.spawn_worker(&[]);
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/webhook"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 64);
    let url = format!(
        "{}{}",
        app.base,
        created["webhook"]["url"].as_str().unwrap()
    );
    let shown = get(&app, &format!("/workflows/{wf}/webhook")).await;
    assert!(
        !shown.to_string().contains(&secret),
        "the secret is shown once"
    );

    let body = br#"{"lead": {"name": "Ada"}, "source": "form"}"#;
    let send = |signature: Option<String>, body: &'static [u8]| {
        let mut req = app
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = signature {
            req = req.header("X-Demandflow-Signature", s);
        }
        req.send()
    };
    let res = send(Some(sign(&secret, Utc::now(), body)), body)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let run: Value = res.json().await.unwrap();
    assert_eq!(
        run["input"],
        json!({"lead": {"name": "Ada"}, "source": "form"})
    );
    assert_eq!(run["trigger"]["type"], "webhook");
    let done = app
        .wait_run(
            run["id"].as_str().unwrap(),
            &["succeeded", "failed", "cancelled"],
        )
        .await;
    assert_eq!(done["steps"][0]["output"], "hello Ada", "{done}");

    // Refused alike: no signature, a wrong one, a stale one, a tampered body, an unknown hook.
    let stale = Utc::now() - chrono::Duration::minutes(10);
    for (signature, body) in [
        (None, &body[..]),
        (
            Some(sign("whsec_not_the_secret", Utc::now(), body)),
            &body[..],
        ),
        (Some(sign(&secret, stale, body)), &body[..]),
        (
            Some(sign(&secret, Utc::now(), body)),
            &br#"{"lead": {"name": "Eve"}}"#[..],
        ),
        (Some("t=1,v1=nothex".to_owned()), &body[..]),
    ] {
        let res = send(signature.clone(), body).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{signature:?}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
    }
    let res = app
        .http
        .post(format!(
            "{}/api/v1/hooks/{}",
            app.base,
            uuid::Uuid::new_v4()
        ))
        .header("content-type", "application/json")
        .header("X-Demandflow-Signature", sign(&secret, Utc::now(), body))
        .body(&body[..])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Signed, but not an object: 422.
    let res = send(Some(sign(&secret, Utc::now(), b"[1, 2]")), b"[1, 2]")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Rotation: the new secret works, and the old one for a grace period.
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/webhook"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let rotated: Value = res.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["webhook"]["url"], created["webhook"]["url"]);
    // Each request is signed at its own second: the same signed request twice is a replay.
    for (i, s) in [&new_secret, &secret].into_iter().enumerate() {
        let at = Utc::now() + chrono::Duration::seconds(i as i64 + 1);
        let res = send(Some(sign(s, at, body)), body).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    // A disabled workflow starts nothing, even when signed.
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = send(Some(sign(&new_secret, Utc::now(), body)), body)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Deleted: the URL is dead.
    let res = app
        .request(Method::DELETE, &format!("/workflows/{wf}/webhook"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = send(Some(sign(&new_secret, Utc::now(), body)), body)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM workflow_runs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(runs, 3, "the good requests, and only them");
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'webhook.%' OR action = 'run.start' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        [
            "webhook.create",
            "run.start",
            "webhook.rotate",
            "run.start",
            "run.start",
            "webhook.delete"
        ]
    );
}

/// One parsed server-sent event.
#[derive(Debug, Clone)]
struct Sse {
    id: i64,
    event: String,
    data: Value,
}

/// Reads an event stream until it ends (failing after the deadline).
async fn read_events(app: &App, run: &str, last_event_id: Option<i64>) -> (StatusCode, Vec<Sse>) {
    let mut req = app.request(Method::GET, &format!("/runs/{run}/events"));
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let mut res = req.send().await.unwrap();
    let status = res.status();
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = res.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(T, read)
        .await
        .expect("the stream ends after the run finished");
    let events = text
        .split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut event = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().ok();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).ok();
                }
            }
            Some(Sse {
                id: id?,
                event: event?,
                data: data?,
            })
        })
        .collect();
    (status, events)
}

#[tokio::test]
async fn run_events_stream_in_order_and_resume_after_the_last_event_id() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "a", "kind": "noop", "args": {"sleep_ms": 300, "output": {"items": [1, 2]}}},
            {"name": "b", "kind": "noop", "after": ["a"], "for_each": "steps.a.output.items",
             "args": {"output": "{{ item }}"}},
            {"name": "c", "kind": "noop", "after": ["b"], "if": "input.alert"},
        ]}),
    )
    .await;
    let _worker = app.spawn_worker(&[]);
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/runs"))
        .json(&json!({"input": {"alert": false}}))
        .send()
        .await
        .unwrap();
    let run: Value = res.json().await.unwrap();
    let id = run["id"].as_str().unwrap().to_owned();

    // Opened while the run is in flight: events arrive as they happen, and the stream ends
    // by itself once the run has finished.
    let (status, live) = read_events(&app, &id, None).await;
    assert_eq!(status, StatusCode::OK);
    let seen: Vec<(String, Option<String>)> = live
        .iter()
        .map(|e| (e.event.clone(), e.data["step"].as_str().map(str::to_owned)))
        .collect();
    let expected: Vec<(String, Option<String>)> = [
        ("run_created", None),
        ("step_started", Some("a")),
        ("step_succeeded", Some("a")),
        ("step_started", Some("b")),
        ("step_succeeded", Some("b")),
        ("step_skipped", Some("c")),
        ("run_finished", None),
    ]
    .iter()
    .map(|(e, s)| (e.to_string(), s.map(str::to_owned)))
    .collect();
    assert_eq!(seen, expected);
    assert!(live.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
    for e in &live {
        assert_eq!(e.data["id"], e.id, "the SSE id is the event's id");
        assert_eq!(e.data["type"], e.event.as_str());
        assert_eq!(e.data["run_id"], id.as_str());
    }
    assert_eq!(live[1].data["data"], json!({"kind": "noop", "items": 1}));
    assert_eq!(live[3].data["data"]["items"], 2);
    assert_eq!(live[4].data["data"]["output"], json!([1, 2]));
    assert_eq!(live[5].data["data"]["reason"], "its condition is false");
    assert_eq!(live[6].data["data"], json!({"status": "succeeded"}));

    // Resumed after the third event: only the later ones.
    let (status, resumed) = read_events(&app, &id, Some(live[2].id)).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<i64> = resumed.iter().map(|e| e.id).collect();
    let later: Vec<i64> = live[3..].iter().map(|e| e.id).collect();
    assert_eq!(ids, later);
    // After the last one: nothing more will come, and the answer says so.
    let (status, none) = read_events(&app, &id, Some(live[6].id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(none.is_empty());

    // Bad ids and foreign runs.
    let res = app
        .request(Method::GET, &format!("/runs/{id}/events"))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(paths(&problem), ["Last-Event-ID"]);
    let intruder = app.create_key("globex", "viewer").await;
    let res = app
        .http
        .get(format!("{}/api/v1/runs/{id}/events", app.base))
        .header("X-API-Key", intruder)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_demo_pipeline_fetches_classifies_scores_and_alerts_the_relevant_posts() {
    let app = e2e::spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await;
    // Like scripts/dev's sink: a webhook receiver the alerts reach.
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/alerts"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&sink)
        .await;
    let res = app
        .request(Method::POST, "/destinations")
        .json(&json!({"name": "demo sink", "kind": "webhook",
                      "settings": {"url": format!("{}/alerts", sink.uri())}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let destination_id = res.json::<Value>().await.unwrap()["destination"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The very files scripts/dev serves and posts.
    let pipeline: Value = serde_json::from_str(include_str!("../../scripts/demo/pipeline.json"))
        .expect("the demo pipeline is JSON");
    let feed = include_str!("../../scripts/demo/leads.xml").replace("STAMP", "e2e");
    let empty = include_str!("../../scripts/demo/empty.xml");
    let feeds = MockServer::start().await;
    // Like scripts/dev: the source's first scheduled poll sees an empty feed, the run the posts.
    Mock::given(method("GET"))
        .and(path("/leads.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(empty))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&feeds)
        .await;
    Mock::given(method("GET"))
        .and(path("/leads.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(feed))
        .with_priority(2)
        .mount(&feeds)
        .await;
    let _worker = app.spawn_worker(&[]);
    let res = app
        .request(Method::POST, "/sources")
        .json(&json!({"kind": "rss", "url": format!("{}/leads.xml", feeds.uri()), "poll_every": "7d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let source: Value = res.json().await.unwrap();
    let source_id = source["id"].as_str().unwrap().to_owned();
    wait_until("the first poll", T, async || {
        let source = get(&app, &format!("/sources/{source_id}")).await;
        if source["last_status"] == 200 {
            Ok(())
        } else {
            Err(source)
        }
    })
    .await;

    let ruleset: Value = serde_json::from_str(include_str!("../../scripts/demo/ruleset.json"))
        .expect("the demo ruleset is JSON");
    let res = app
        .request(Method::POST, "/rulesets")
        .json(&ruleset)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "the demo ruleset validates"
    );
    let ruleset_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .request(Method::POST, "/workflows")
        .json(&pipeline)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "the demo definition validates"
    );
    let wf: Value = res.json().await.unwrap();
    let res = app
        .request(
            Method::POST,
            &format!("/workflows/{}/runs", wf["id"].as_str().unwrap()),
        )
        .json(
            &json!({"input": {"source_id": source_id, "ruleset_id": ruleset_id,
                                "destination_id": destination_id}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let run: Value = res.json().await.unwrap();
    let done = app
        .wait_run(
            run["id"].as_str().unwrap(),
            &["succeeded", "failed", "cancelled"],
        )
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let fetch = &done["steps"][0]["output"];
    let ids = fetch["new_signal_ids"]
        .as_array()
        .expect("fetch_source names its new signals");
    assert_eq!(ids.len(), 4, "{fetch}");
    assert_eq!(fetch["inserted"], 4);

    // Classified by the keyword rules, no LLM anywhere: three posts ask for work, one does not.
    let verdicts = done["steps"][1]["output"].as_array().unwrap();
    let by_signal: Vec<(&Value, &Value, &Value)> = verdicts
        .iter()
        .map(|v| (&v["signal_id"], &v["relevant"], &v["category"]))
        .collect();
    let titles: Vec<String> = {
        let mut t = vec![];
        for id in ids {
            let signal = get(&app, &format!("/signals/{}", id.as_str().unwrap())).await;
            assert_eq!(signal["source_id"], source_id.as_str());
            t.push(signal["title"].as_str().unwrap().to_owned());
        }
        t
    };
    let expected = [
        ("plumber", true, json!("plumbing")),
        ("solar", true, json!("solar")),
        ("Electrician", true, json!("electrical")),
        ("fence", false, Value::Null),
    ];
    for (i, (word, relevant, category)) in expected.iter().enumerate() {
        assert!(titles[i].contains(word), "{titles:?}");
        assert_eq!(by_signal[i].0, &ids[i], "verdicts in item order");
        assert_eq!(
            by_signal[i].1,
            &json!(relevant),
            "{}: {verdicts:?}",
            titles[i]
        );
        if *relevant {
            assert_eq!(by_signal[i].2, category, "{}: {verdicts:?}", titles[i]);
        }
    }

    // Scored: the three relevant posts became leads (with their contacts), the fence did not.
    let scores = done["steps"][2]["output"].as_array().unwrap();
    assert_eq!(scores.len(), 4);
    assert!(
        scores[3]["skipped"]
            .as_str()
            .unwrap()
            .contains("not relevant"),
        "{scores:?}"
    );
    let contacts: Vec<&Value> = scores[..3].iter().map(|s| &s["contact"]).collect();
    assert_eq!(
        contacts,
        vec![
            &Value::Null,
            &json!("bob.meyer@roundrock-farms.net"),
            &json!("carol.diaz@pflugerville-home.org")
        ]
    );
    let leads = get(&app, "/leads").await;
    assert_eq!(leads["items"].as_array().unwrap().len(), 3, "{leads}");
    for lead in leads["items"].as_array().unwrap() {
        let factors = lead["factors"].as_array().unwrap();
        let confidence = factors.iter().find(|f| f["name"] == "confidence").unwrap();
        assert!(
            confidence["value"].as_f64().unwrap() > 0.0
                && confidence["detail"]
                    .as_str()
                    .unwrap()
                    .contains("classifier"),
            "the stored verdict's confidence counts: {confidence}"
        );
    }
    // Alerted: one signed message per relevant post reached the sink, with its title and
    // link, and the signals are `alerted`; the fence is not.
    let alerts = done["steps"][3]["output"].as_array().unwrap();
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    let received = sink.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let mut alerted_titles: Vec<String> = received
        .iter()
        .map(|r| {
            assert!(r.headers.contains_key("webhook-signature"));
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["type"], "workflow.step", "{body}");
            body["data"]["title"].as_str().unwrap().to_owned()
        })
        .collect();
    alerted_titles.sort();
    let mut relevant_titles = titles[..3].to_vec();
    relevant_titles.sort();
    assert_eq!(alerted_titles, relevant_titles);
    for id in &ids[..3] {
        let signal = get(&app, &format!("/signals/{}", id.as_str().unwrap())).await;
        assert_eq!(signal["state"], "alerted", "{signal}");
    }
    let fence = get(&app, &format!("/signals/{}", ids[3].as_str().unwrap())).await;
    assert_eq!(fence["state"], "classified");
}
