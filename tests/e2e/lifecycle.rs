//! The lifecycle promises, one test each.

use std::time::Duration;

use e2e::{spawn_app, wait_until};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

const T: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_accepted_job_is_already_committed() {
    let app = spawn_app().await;
    let job = app.enqueue(json!({"kind": "noop"})).await;
    let id: uuid::Uuid = job["id"].as_str().unwrap().parse().unwrap();
    // No worker runs: the 201 alone must mean the row is there, in another connection.
    let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(state, "available");
    assert_eq!(job["state"], "available");
}

#[tokio::test]
async fn failed_attempts_are_retried_later_and_the_job_dies_with_every_error() {
    let app = spawn_app().await;
    let job = app
        .enqueue(json!({"kind": "noop", "args": {"fail_attempts": 10}, "max_attempts": 3}))
        .await;
    let id = job["id"].as_str().unwrap();
    let _worker = app.spawn_worker(&[]);
    let failed = app.wait_for_state(id, &["failed"], T).await;
    // The retry time is written to the row: it survives a crash of every worker.
    let run_at: chrono::DateTime<chrono::Utc> = failed["run_at"].as_str().unwrap().parse().unwrap();
    let failed_at: chrono::DateTime<chrono::Utc> =
        failed["errors"][0]["at"].as_str().unwrap().parse().unwrap();
    assert!(
        run_at >= failed_at,
        "the retry waits for its backoff: {failed}"
    );
    let dead = app.wait_for_state(id, &["dead"], T).await;
    assert_eq!(dead["attempts"], 3);
    let errors = dead["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{dead}");
    assert_eq!(
        errors
            .iter()
            .map(|e| e["attempt"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(dead["last_error"].as_str().unwrap().contains("on purpose"));
}

#[tokio::test]
async fn http_errors_that_cannot_succeed_are_dead_at_once_and_server_errors_are_retried() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(matchers::path("/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no such thing"))
        .mount(&server)
        .await;
    Mock::given(matchers::path("/flaky"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(matchers::path("/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_string("fine now"))
        .mount(&server)
        .await;
    let gone = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "GET", "url": format!("{}/gone", server.uri())}}))
        .await;
    let flaky = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "POST", "url": format!("{}/flaky", server.uri()), "body": {"lead": 1}}}))
        .await;
    let _worker = app.spawn_worker(&[]);

    let gone = app
        .wait_for_state(gone["id"].as_str().unwrap(), &["dead"], T)
        .await;
    assert_eq!(
        gone["attempts"], 1,
        "no retries are wasted on a 404: {gone}"
    );
    assert!(gone["last_error"].as_str().unwrap().contains("HTTP 404"));

    let flaky = app
        .wait_for_state(flaky["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    assert_eq!(flaky["attempts"], 2, "{flaky}");
    assert_eq!(flaky["result"]["status"], 200);
    assert_eq!(flaky["result"]["body_excerpt"], "fine now");
    assert!(
        flaky["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 503")
    );

    // Every attempt carried the job's id as its idempotency key.
    let requests = server.received_requests().await.unwrap();
    let keys: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/flaky")
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys, vec![flaky["id"].as_str().unwrap(); 2]);
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let app = spawn_app().await;
    let job = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "GET", "url": "http://127.0.0.1:9/admin"}}))
        .await;
    let _worker = app.spawn_worker(&[("ALLOW_PRIVATE_NETWORKS", "false")]);
    let dead = app
        .wait_for_state(job["id"].as_str().unwrap(), &["dead"], T)
        .await;
    assert_eq!(dead["attempts"], 1);
    assert!(
        dead["last_error"].as_str().unwrap().starts_with("refused:"),
        "{dead}"
    );
}

#[tokio::test]
async fn an_idle_worker_is_woken_by_notify_not_by_its_poll() {
    let app = spawn_app().await;
    // With a one-hour poll, an idle worker looks at the queue only when a notification wakes it
    // (or when its LISTEN connection is made again, which nothing here provokes).
    let worker = app.spawn_worker(&[("POLL_INTERVAL_MS", "3600000")]);
    worker.wait_for_line("worker running", T).await;
    // One job through first: once it is done, the looks a worker takes as it starts are over.
    let first = app.enqueue(json!({"kind": "noop"})).await;
    app.wait_for_state(first["id"].as_str().unwrap(), &["succeeded"], T)
        .await;

    // A job made due behind the workers' back (no notification) stays where it is: nothing
    // polls. Proving that nothing happens takes a wait; it is the control of this test.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let unannounced = app
        .enqueue(json!({"kind": "noop", "run_at": later.to_rfc3339()}))
        .await;
    let unannounced = unannounced["id"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE jobs SET run_at = now() WHERE id = $1::text::uuid")
        .bind(&unannounced)
        .execute(&app.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = app.job(&unannounced).await;
    assert_eq!(
        idle["state"], "available",
        "an idle worker must not look at the queue on its own: {idle}"
    );

    // An enqueue notifies: the worker wakes and claims the new job, and the unannounced one.
    let job = app.enqueue(json!({"kind": "noop"})).await;
    let done = app
        .wait_for_state(
            job["id"].as_str().unwrap(),
            &["succeeded"],
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(done["attempts"], 1);
    let at = |field: &str| {
        done[field]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let pickup = at("started_at") - at("created_at");
    assert!(
        pickup < chrono::Duration::seconds(5),
        "picked up {pickup} after the enqueue: a wake-up, not the hourly poll"
    );
    app.wait_for_state(&unannounced, &["succeeded"], T).await;
}

#[tokio::test]
async fn a_scheduled_job_waits_for_its_time() {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let job = app
        .enqueue(json!({"kind": "noop", "run_at": at.to_rfc3339()}))
        .await;
    assert_eq!(job["state"], "scheduled");
    let done = app
        .wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    let started: chrono::DateTime<chrono::Utc> =
        done["started_at"].as_str().unwrap().parse().unwrap();
    assert!(started >= at, "started {started} before its run_at {at}");
}

#[tokio::test]
async fn a_job_of_a_killed_worker_is_rescued_and_completed_by_another() {
    let app = spawn_app().await;
    let job = app
        .enqueue(json!({"kind": "noop", "args": {"sleep_ms": 2000}, "max_attempts": 3}))
        .await;
    let id = job["id"].as_str().unwrap();
    let first = app.spawn_worker(&[]);
    let running = app.wait_for_state(id, &["running"], T).await;
    let first_holder = running["worker"].as_str().unwrap().to_owned();
    first.signal("KILL");
    // Same host, new process: a new identity, and the old job is not stranded. It does not
    // watch for dead workers, so this is the lease's rescue (what covers a worker whose session
    // cannot be seen to end).
    let _second = app.spawn_worker(&[("DEAD_WORKER_CHECK_MS", "0")]);
    let done = app.wait_for_state(id, &["succeeded"], T).await;
    assert_eq!(done["attempts"], 2, "{done}");
    let error = done["errors"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("lease expired") && error.contains(&first_holder),
        "{done}"
    );
    let executions: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(executions, 1);
}

#[tokio::test]
async fn a_sigkilled_workers_jobs_run_again_on_another_within_seconds_not_after_the_lease() {
    let app = spawn_app().await;
    // A 30 s lease: only seeing the dead worker's session end can rescue its jobs in seconds.
    let lease = [("LEASE_MS", "30000")];
    let jobs: Vec<String> = {
        let mut ids = Vec::new();
        for _ in 0..4 {
            let job = app
                .enqueue(json!({"kind": "noop", "args": {"sleep_ms": 3000}, "max_attempts": 3}))
                .await;
            ids.push(job["id"].as_str().unwrap().to_owned());
        }
        ids
    };
    let mut first = app.spawn_worker(&lease);
    let mut holder = String::new();
    for id in &jobs {
        let running = app.wait_for_state(id, &["running"], T).await;
        holder = running["worker"].as_str().unwrap().to_owned();
    }
    let second = app.spawn_worker(&lease);
    second.wait_for_line("worker running", T).await;

    first.signal("KILL");
    let killed = std::time::Instant::now();
    first.wait_exit(T).await.unwrap();
    // Each is running again, on the survivor, as a new attempt.
    wait_until(
        "the killed worker's jobs to run again on the other",
        Duration::from_secs(3),
        async || {
            for id in &jobs {
                let job = app.job(id).await;
                let moved = job["state"] == "running"
                    && job["attempts"] == 2
                    && job["worker"].as_str().is_some_and(|w| w != holder);
                if !moved {
                    return Err(job);
                }
            }
            Ok(())
        },
    )
    .await;
    let again = killed.elapsed();
    eprintln!("from SIGKILL to every job running again: {again:?}");
    for id in &jobs {
        let done = app.wait_for_state(id, &["succeeded"], T).await;
        assert_eq!(done["attempts"], 2, "{done}");
        let errors = done["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "one rescued attempt: {done}");
        let error = errors[0]["error"].as_str().unwrap();
        assert!(
            error.contains(&holder) && error.contains("session ended"),
            "{done}"
        );
        let completions = second
            .output()
            .iter()
            .filter(|l| l.contains(id.as_str()) && l.contains("job succeeded"))
            .count();
        assert_eq!(completions, 1, "completed once");
    }
    let rescues = second
        .output()
        .iter()
        .filter(|l| l.contains("rescued a job whose worker died"))
        .count();
    assert_eq!(
        rescues,
        jobs.len(),
        "each rescued once, by the session check"
    );
}

#[tokio::test]
async fn sigterm_finishes_in_flight_jobs_returns_the_rest_and_exits_zero() {
    let app = spawn_app().await;
    let short = app
        .enqueue(json!({"kind": "noop", "args": {"sleep_ms": 1000}}))
        .await;
    let long = app
        .enqueue(json!({"kind": "noop", "args": {"sleep_ms": 60000}}))
        .await;
    let mut worker = app.spawn_worker(&[("SHUTDOWN_GRACE_MS", "3000")]);
    app.wait_for_state(short["id"].as_str().unwrap(), &["running"], T)
        .await;
    app.wait_for_state(long["id"].as_str().unwrap(), &["running"], T)
        .await;
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(T).await.unwrap(), Some(0));
    let short = app.job(short["id"].as_str().unwrap()).await;
    assert_eq!(
        short["state"], "succeeded",
        "the in-flight job finished within the grace period"
    );
    let long = app.job(long["id"].as_str().unwrap()).await;
    assert_eq!(
        long["state"], "available",
        "the job that outlived the grace period is back in the queue: {long}"
    );
    assert_eq!(long["attempts"], 0, "returning it did not spend an attempt");
    assert!(long["worker"].is_null());
}

#[tokio::test]
async fn a_timed_out_attempt_is_a_failed_attempt() {
    let app = spawn_app().await;
    let job = app
        .enqueue(json!({"kind": "noop", "args": {"sleep_ms": 10000}, "timeout_ms": 200, "max_attempts": 2}))
        .await;
    let _worker = app.spawn_worker(&[]);
    let dead = app
        .wait_for_state(job["id"].as_str().unwrap(), &["dead"], T)
        .await;
    assert_eq!(dead["attempts"], 2);
    assert!(
        dead["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 200 ms"),
        "{dead}"
    );
}

#[tokio::test]
async fn finished_jobs_are_pruned_after_their_retention() {
    let app = spawn_app().await;
    let job = app.enqueue(json!({"kind": "noop"})).await;
    let id = job["id"].as_str().unwrap();
    let mut worker = app.spawn_worker(&[]);
    app.wait_for_state(id, &["succeeded"], T).await;
    worker.signal("TERM");
    worker.wait_exit(T).await.unwrap();
    // A worker purges at start and every minute; with a 1 s retention the job must go.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _pruner = app.spawn_worker(&[("JOB_RETENTION_SECS", "1")]);
    wait_until("the job to be pruned", T, async || {
        let status = app
            .request(reqwest::Method::GET, &format!("/jobs/{id}"))
            .send()
            .await
            .unwrap()
            .status();
        status == 404
    })
    .await;
}

#[tokio::test]
async fn cancelling_reaches_queued_jobs_at_once_and_running_jobs_cooperatively() {
    let app = spawn_app().await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let queued = app
        .enqueue(json!({"kind": "noop", "run_at": later.to_rfc3339()}))
        .await;
    let res = app
        .request(
            reqwest::Method::POST,
            &format!("/jobs/{}/cancel", queued["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["state"], "cancelled");

    let running = app
        .enqueue(json!({"kind": "noop", "args": {"sleep_ms": 600000}}))
        .await;
    let id = running["id"].as_str().unwrap();
    let _worker = app.spawn_worker(&[]);
    app.wait_for_state(id, &["running"], T).await;
    let res = app
        .request(reqwest::Method::POST, &format!("/jobs/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cancelled = app
        .wait_for_state(id, &["cancelled"], Duration::from_secs(10))
        .await;
    assert!(cancelled["finished_at"].is_string());

    // The attempt itself stopped: an outbound call in flight is dropped, not awaited.
    let server = MockServer::start().await;
    Mock::given(matchers::path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .mount(&server)
        .await;
    let slow = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "GET", "url": format!("{}/slow", server.uri()), "timeout_ms": 300000}}))
        .await;
    let slow_id = slow["id"].as_str().unwrap();
    app.wait_for_state(slow_id, &["running"], T).await;
    app.request(reqwest::Method::POST, &format!("/jobs/{slow_id}/cancel"))
        .send()
        .await
        .unwrap();
    let cancelled = app
        .wait_for_state(slow_id, &["cancelled"], Duration::from_secs(10))
        .await;
    assert!(cancelled["result"].is_null());

    // A finished job cannot be cancelled again.
    let res = app
        .request(reqwest::Method::POST, &format!("/jobs/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn a_dead_job_can_be_retried_and_a_finished_job_deleted() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(matchers::path("/hook"))
        .respond_with(ResponseTemplate::new(400))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(matchers::path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let job = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "POST", "url": format!("{}/hook", server.uri())}}))
        .await;
    let id = job["id"].as_str().unwrap();
    let _worker = app.spawn_worker(&[]);
    app.wait_for_state(id, &["dead"], T).await;

    let res = app
        .request(reqwest::Method::POST, &format!("/jobs/{id}/retry"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let done = app.wait_for_state(id, &["succeeded"], T).await;
    assert_eq!(done["attempts"], 1, "retrying reset the attempts");
    assert_eq!(
        done["errors"].as_array().unwrap().len(),
        1,
        "the earlier error is kept"
    );

    let res = app
        .request(reqwest::Method::DELETE, &format!("/jobs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .request(reqwest::Method::GET, &format!("/jobs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
