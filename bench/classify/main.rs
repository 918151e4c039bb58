//! Keyword classification benchmark: signals per second through the keyword path of
//! `classify_signal`, on generated signals and a ruleset of 500 terms and phrases, 50 negative
//! terms and 10 categories. No LLM is configured, so nothing leaves the machine and nothing is
//! paid. It is not a test: it measures and prints.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p bench --example classify_bench -- [signals] [runs] [concurrency]
//! ```
//!
//! Phases, each over the same signals (a fresh tenant per run, in one scratch database that is
//! created and dropped):
//! - `matcher`: the compiled automaton scoring title + text in memory, on one core;
//! - `job`: the real attempt (`jobs::kinds::classify_signal::run`) per signal with
//!   `concurrency` at once — load the signal and the ruleset version, look for a verdict, score
//!   with the cached automaton, store the verdict and move the signal to `classified`;
//! - `re-run`: the same jobs again, each finding its verdict (what a retried job costs).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{StreamExt, stream};
use jobs::{
    audit::Actor,
    auth,
    classify::{
        rules::{Compiled, Rules},
        rulesets,
    },
    db,
    kinds::classify_signal::{self, Attempt, ClassifyContext, ClassifySignal},
    sources::{
        self, NewSource,
        feed::RawItem,
        ingest::{self, Gates},
        signals::QualitySettings,
    },
};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

#[path = "../words.rs"]
mod words;
use words::WORDS;

/// A deterministic pseudo-random stream (xorshift), so every run scores the same texts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }

    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.next() % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// 500 terms and phrases over 10 categories, 50 negative terms.
fn ruleset() -> serde_json::Value {
    let categories: Vec<String> = (0..10).map(|i| format!("trade{i}")).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen = std::collections::HashSet::new();
    let mut terms = vec![];
    while terms.len() < 500 {
        let len = 1 + rng.next() % 3;
        let phrase = rng.words(len);
        if seen.insert(phrase.clone()) {
            terms.push(json!({"term": phrase, "weight": 5 + rng.next() % 30,
                              "category": categories[rng.next() % 10]}));
        }
    }
    let mut negative = vec![];
    while negative.len() < 50 {
        let phrase = format!("{} {}", rng.words(1), rng.words(1));
        if seen.insert(phrase.clone()) {
            negative.push(json!({"term": phrase, "weight": 5 + rng.next() % 20}));
        }
    }
    json!({"categories": categories, "terms": terms, "negative": negative,
           "thresholds": {"relevant": 60, "irrelevant": 20}})
}

fn signals(n: usize) -> Vec<(String, String)> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    (0..n)
        .map(|i| {
            let title = format!("{} #{i}", rng.words(6));
            let len = 90 + rng.next() % 40;
            let body = format!("{} (post {i})", rng.words(len));
            (title, body)
        })
        .collect()
}

fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match url.rfind('/') {
        Some(i) if i > url.find("://").map_or(0, |j| j + 2) => url[..i].to_owned(),
        _ => url,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

async fn run_all(
    ctx: &ClassifyContext,
    tenant: Uuid,
    ruleset_id: Uuid,
    ids: &[Uuid],
    concurrency: usize,
) -> anyhow::Result<(Duration, usize)> {
    let t = Instant::now();
    let outs: Vec<_> = stream::iter(ids.iter().copied())
        .map(|signal_id| async move {
            let args = ClassifySignal {
                signal_id,
                ruleset_id,
                version: None,
            };
            let at = Attempt {
                job_id: Uuid::now_v7(),
                tenant_id: tenant,
                attempt: 1,
            };
            classify_signal::run(&args, at, ctx).await
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = t.elapsed();
    let mut relevant = 0;
    for out in outs {
        let out = out.map_err(|e| anyhow::anyhow!("{e}"))?;
        relevant += usize::from(out["relevant"] == true);
    }
    Ok((elapsed, relevant))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(16);

    let rules = Rules::parse(&ruleset()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let texts = signals(n);
    let chars: usize = texts.iter().map(|(t, b)| t.len() + b.len()).sum();
    println!(
        "{n} signals ({} characters on average), 500 terms, 50 negative terms, 10 categories",
        chars / n
    );

    let name = format!("classify_bench_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url())).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let pool = PgPool::connect_with(
        format!("{}/{name}", server_url()).parse::<sqlx::postgres::PgConnectOptions>()?,
    )
    .await?;
    db::migrate(&pool).await?;

    let (mut matcher, mut job, mut rerun) = (vec![], vec![], vec![]);
    for run in 0..runs {
        // matcher only
        let compiled = Arc::new(Compiled::new(rules.clone()).map_err(|e| anyhow::anyhow!(e))?);
        let t = Instant::now();
        let mut relevant = 0;
        for (title, body) in &texts {
            relevant += usize::from(compiled.score(title, body).decided == Some(true));
        }
        matcher.push(t.elapsed());

        // the job's keyword path, against the database
        let mut conn = pool.acquire().await?;
        let tenant = auth::ensure_tenant(&mut conn, &format!("bench{run}")).await?;
        let source = sources::create(
            &mut conn,
            tenant,
            &Actor::default(),
            NewSource::try_from(json!({"kind": "push"}))?,
        )
        .await?;
        let gates = Gates::new(QualitySettings {
            min_length: 0,
            max_link_density: 1.0,
            simhash_threshold: 0,
            ..Default::default()
        });
        for chunk in texts.chunks(1000) {
            let items = chunk
                .iter()
                .map(|(t, b)| RawItem {
                    title: Some(t.clone()),
                    content: Some(b.clone()),
                    ..Default::default()
                })
                .collect();
            let mut tx = pool.begin().await?;
            ingest::store(
                &mut tx,
                tenant,
                source.id,
                &gates,
                ingest::prepare_all(items, None),
            )
            .await?;
            tx.commit().await?;
        }
        let ruleset =
            rulesets::create(&mut conn, tenant, &Actor::default(), "bench", &rules).await?;
        drop(conn);
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM signals WHERE tenant_id = $1 AND state = 'new' ORDER BY id",
        )
        .bind(tenant)
        .fetch_all(&pool)
        .await?;
        let ctx = ClassifyContext::new(pool.clone(), None);
        let (first, job_relevant) = run_all(&ctx, tenant, ruleset.id, &ids, concurrency).await?;
        let (again, _) = run_all(&ctx, tenant, ruleset.id, &ids, concurrency).await?;
        job.push(first);
        rerun.push(again);
        println!(
            "run {run}: matcher {:.3} s ({relevant} relevant), job {:.2} s ({} signals, {job_relevant} relevant), re-run {:.2} s",
            matcher[run].as_secs_f64(),
            first.as_secs_f64(),
            ids.len(),
            again.as_secs_f64(),
        );
        assert_eq!(ids.len(), n, "every generated signal was ingested");
    }
    let (m, j, r) = (median(matcher), median(job), median(rerun));
    println!();
    println!("| phase ({n} signals, median of {runs}) | seconds | signals/s |");
    println!("|---|---:|---:|");
    println!(
        "| matcher: score title + text in memory (one core) | {:.3} | {:.0} |",
        m.as_secs_f64(),
        rate(n, m)
    );
    println!(
        "| job: the classify_signal attempt, keyword path ({concurrency} at once) | {:.2} | {:.0} |",
        j.as_secs_f64(),
        rate(n, j)
    );
    println!(
        "| re-run: the same jobs, each finding its verdict | {:.2} | {:.0} |",
        r.as_secs_f64(),
        rate(n, r)
    );

    pool.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}
