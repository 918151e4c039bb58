//! Ingest benchmark: signals per second through fetch → sanitise → dedupe, on a 10,000-item
//! RSS feed served by a local HTTP server (wiremock on 127.0.0.1; nothing leaves the machine).
//!
//! It calls the real `fetch_source` attempt (`jobs::kinds::fetch_source::run`): host permit
//! (rate limit and circuit, in Postgres), the guarded HTTP GET, charset handling, feed-rs,
//! ammonia, URL normalisation, language detection, hashing, the quality gates, near-duplicate
//! search and the `INSERT … ON CONFLICT` into `signals`, in one transaction. It is not a test:
//! it measures and prints.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p bench --example ingest_bench -- [items] [runs]
//! ```
//!
//! Each run uses a fresh tenant and source in one scratch database (created and dropped):
//! - `cold`: every item is new (10,000 inserts);
//! - `repeat`: the same feed again without a validator (no 304), so every item goes through
//!   the whole pipeline and is found held already;
//! - `cpu only`: parse + sanitise + hash of the same bytes, without HTTP or the database.

use std::time::{Duration, Instant};

use jobs::{
    audit::Actor,
    auth, db,
    kinds::fetch_source::{self, FetchContext, FetchSource},
    sources::{self, NewSource, SourceKind, feed, ingest},
};
use sqlx::{Connection, PgConnection, PgPool};
use url::Url;
use uuid::Uuid;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

#[path = "../words.rs"]
mod words;
use words::WORDS;

/// A small deterministic generator (SplitMix64), so every run reads the same feed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn words(&mut self, at_least: usize, spread: u64) -> String {
        let n = at_least + (self.next() % spread) as usize;
        (0..n)
            .map(|_| WORDS[(self.next() % WORDS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An RSS 2.0 feed of `items` entries with the usual markup: CDATA, links, entities, a
/// script and an event handler to strip, relative links, tracking parameters.
fn make_feed(items: usize) -> Vec<u8> {
    let mut rng = Rng(42);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>bench</title>\n",
    );
    for i in 0..items {
        let title = rng.words(6, 6);
        let a = rng.words(25, 40);
        let b = rng.words(15, 30);
        out.push_str(&format!(
            "<item><title><![CDATA[{title} #{i}]]></title><link>/t/{i}?utm_source=rss&amp;ref=x{i}</link>\
             <guid isPermaLink=\"false\">item-{i}</guid><dc:creator>user{}</dc:creator>\
             <pubDate>Mon, 03 Nov 2025 09:15:00 GMT</pubDate>\
             <description><![CDATA[<p onclick=\"t()\">{a} &amp; <b>more</b></p><p>{b} <a href=\"/u/{i}\">profile</a></p><script>x({i})</script>]]></description></item>\n",
            rng.next() % 5000
        ));
    }
    out.push_str("</channel></rss>\n");
    out.into_bytes()
}

fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match url.rfind('/') {
        Some(i) if i > url.find("://").map_or(0, |j| j + 2) => url[..i].to_owned(),
        _ => url,
    }
}

fn rate(items: usize, d: Duration) -> f64 {
    items as f64 / d.as_secs_f64()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let items: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);

    let body = make_feed(items);
    println!("feed: {items} items, {} bytes", body.len());
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), "application/rss+xml"))
        .mount(&server)
        .await;

    let name = format!("ingest_bench_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url())).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let pool = PgPool::connect(&format!("{}/{name}", server_url())).await?;
    db::migrate(&pool).await?;

    let mut ctx = FetchContext::new(pool.clone(), true);
    ctx.max_bytes = 256 * 1024 * 1024;
    ctx.timeout = Duration::from_secs(300);

    let (mut cold, mut repeat, mut cpu) = (vec![], vec![], vec![]);
    for run in 0..runs {
        let mut conn = pool.acquire().await?;
        let tenant = auth::ensure_tenant(&mut conn, &format!("bench{run}")).await?;
        let new = NewSource::try_from(serde_json::json!({
            "kind": "rss", "url": format!("{}/feed/{run}", server.uri()), "rate_limit_per_min": 6000, "enabled": false
        }))?;
        let source = sources::create(&mut conn, tenant, &Actor::default(), new).await?;
        drop(conn);
        let args = FetchSource {
            source_id: source.id,
        };
        // Disabled sources are skipped by the handler; enable it without scheduling a poll.
        sqlx::query("UPDATE sources SET enabled = true WHERE id = $1")
            .bind(source.id)
            .execute(&pool)
            .await?;

        let t = Instant::now();
        let first = fetch_source::run(&args, tenant, &ctx)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        cold.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await; // the host's next slot
        let t = Instant::now();
        let second = fetch_source::run(&args, tenant, &ctx)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        repeat.push(t.elapsed());
        println!(
            "run {run}: cold {:.2} s (inserted {}, near-duplicates {}, rejected {}), repeat {:.2} s (duplicates {})",
            cold[run].as_secs_f64(),
            first["inserted"],
            first["near_duplicates"],
            first["rejected"],
            repeat[run].as_secs_f64(),
            second["duplicates"],
        );
        assert_eq!(second["duplicates"].as_u64(), Some(items as u64));

        let base = Url::parse(&format!("{}/feed", server.uri()))?;
        let t = Instant::now();
        let parsed = feed::parse(SourceKind::Rss, &body, Some("application/rss+xml"), &base)?;
        let prepared = ingest::prepare_all(parsed, Some(&base));
        cpu.push(t.elapsed());
        assert_eq!(prepared.len(), items);
    }
    let (c, r, p) = (median(cold), median(repeat), median(cpu));
    println!();
    println!("| phase ({items} items, median of {runs}) | seconds | signals/s |");
    println!("|---|---:|---:|");
    println!(
        "| cold: fetch → sanitise → dedupe → insert | {:.2} | {:.0} |",
        c.as_secs_f64(),
        rate(items, c)
    );
    println!(
        "| repeat: fetch → sanitise → dedupe (all held) | {:.2} | {:.0} |",
        r.as_secs_f64(),
        rate(items, r)
    );
    println!(
        "| cpu only: parse → sanitise → hash | {:.2} | {:.0} |",
        p.as_secs_f64(),
        rate(items, p)
    );

    pool.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}
