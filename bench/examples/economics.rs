//! Economics report benchmark: the latency of `jobs::economics::report` (what
//! `GET /api/v1/economics` runs) for one tenant with 1,000,000 ledger rows. It is not a test:
//! it measures and prints.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p bench --example economics_bench -- [ledger rows] [runs]
//! ```
//!
//! In one scratch database (created, migrated, dropped): one tenant with 20 sources, 3
//! rulesets, 10 categories and 5 workflows; its cost ledger gets 90 % of the rows (a reserve,
//! then a settle or a release, as paid calls write them) and its revenue ledger 10 % (sales, a
//! tenth of them returned, in USD and EUR), spread over 365 days; beside them 50,000 signals
//! with their verdicts and 5,000 leads. Every row goes in through the ledgers' real triggers,
//! so the rollup is the one the writers maintain. Then each `group_by` over the whole year and
//! over the last 30 days, `runs` times each (after one warm-up), p50 and p99; and, for
//! comparison, the same money summed from the ledgers themselves (what the report would cost
//! without the rollup).

use std::time::{Duration, Instant};

use jobs::{
    db,
    economics::{self, GroupBy, Query},
};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match url.rfind('/') {
        Some(i) if i > url.find("://").map_or(0, |j| j + 2) => url[..i].to_owned(),
        _ => url,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The tenant's world and its ledgers, in batches of 100,000 rows per statement.
async fn seed(pool: &PgPool, tenant: Uuid, rows: i64) -> anyhow::Result<()> {
    let setup = format!(
        "INSERT INTO tenants (id, name) VALUES ('{tenant}', 'bench');
         INSERT INTO sources (id, tenant_id, kind, url, poll_every_secs)
         SELECT gen_random_uuid(), '{tenant}', 'rss', 'https://s' || i || '.example/feed', 60
         FROM generate_series(1, 20) i;
         INSERT INTO rulesets (id, tenant_id, name)
         SELECT gen_random_uuid(), '{tenant}', 'r' || i FROM generate_series(1, 3) i;
         INSERT INTO ruleset_versions (id, ruleset_id, tenant_id, version, rules)
         SELECT gen_random_uuid(), id, tenant_id, 1, '{{}}' FROM rulesets;
         INSERT INTO workflows (id, tenant_id, name)
         SELECT gen_random_uuid(), '{tenant}', 'w' || i FROM generate_series(1, 5) i;
         INSERT INTO partners (id, tenant_id, name, mode, config, credentials, rate_limit_per_min, currency)
         VALUES (gen_random_uuid(), '{tenant}', 'buyer', 'direct', '{{}}', 'x', 60, 'USD');
         CREATE UNLOGGED TABLE dims AS
         SELECT row_number() OVER () - 1 AS n, s.id AS source_id, r.id AS ruleset_id,
                v.id AS version_id, w.id AS workflow_id, 'c' || (row_number() OVER () % 10) AS category
         FROM (SELECT id, row_number() OVER (ORDER BY id) k FROM sources) s
         JOIN (SELECT id, row_number() OVER (ORDER BY id) k FROM rulesets) r ON r.k = 1 + s.k % 3
         JOIN ruleset_versions v ON v.ruleset_id = r.id
         JOIN (SELECT id, row_number() OVER (ORDER BY id) k FROM workflows) w ON w.k = 1 + s.k % 5;
         INSERT INTO signals (id, tenant_id, source_id, title, body_html, body_text, content_hash, simhash, created_at)
         SELECT gen_random_uuid(), '{tenant}', d.source_id, 't' || i, '', '',
                sha256(i::text::bytea), i, now() - make_interval(days => i % 365)
         FROM generate_series(1, 50000) i JOIN dims d ON d.n = i % 20;
         INSERT INTO classifications (id, tenant_id, signal_id, source_id, ruleset_id, ruleset_version_id,
             ruleset_version, category, relevant, score, keyword_score, confidence, method, llm,
             workflow_id, created_at)
         SELECT gen_random_uuid(), s.tenant_id, s.id, s.source_id, d.ruleset_id, d.version_id, 1,
                d.category, true, 80, 50, 0.8,
                CASE WHEN s.simhash % 3 = 0 THEN 'keyword' ELSE 'llm' END,
                CASE WHEN s.simhash % 3 = 0 THEN 'not_needed' WHEN s.simhash % 3 = 1 THEN 'paid' ELSE 'memo' END,
                d.workflow_id, s.created_at
         FROM signals s JOIN dims d ON d.source_id = s.source_id;
         INSERT INTO leads (id, tenant_id, key_signal_id, score, factors, source_id, category, created_at)
         SELECT gen_random_uuid(), s.tenant_id, s.id, 80, '{{}}', s.source_id, 'c' || (s.simhash % 10), s.created_at
         FROM signals s WHERE s.simhash % 10 = 0;
         INSERT INTO lead_signals (signal_id, lead_id, tenant_id, score, factors)
         SELECT l.key_signal_id, l.id, l.tenant_id, 80, '{{}}' FROM leads l;"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
        .execute(pool)
        .await?;
    let cost_rows = rows * 9 / 10;
    let revenue_rows = rows - cost_rows;
    let batch = 100_000;
    let mut from = 0;
    while from < cost_rows {
        let to = (from + batch).min(cost_rows);
        // Rows in pairs: a reserve, then its settle (four in five) or release.
        let sql = format!(
            "INSERT INTO cost_ledger (id, tenant_id, at, entry, provider, model, amount_micros,
                 job_id, reservation_id, source_id, ruleset_id, category, workflow_id)
             SELECT gen_random_uuid(), '{tenant}', now() - make_interval(days => (i / 2) % 365),
                    CASE WHEN i % 2 = 0 THEN 'reserve' WHEN (i / 2) % 5 = 0 THEN 'release' ELSE 'settle' END,
                    'openai', 'gpt-4o-mini', 100 + i % 400, NULL, gen_random_uuid(),
                    d.source_id, d.ruleset_id, d.category, d.workflow_id
             FROM generate_series({from}, {last}) i JOIN dims d ON d.n = (i / 2) % 20",
            last = to - 1
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await?;
        from = to;
    }
    let mut from = 0;
    while from < revenue_rows {
        let to = (from + batch).min(revenue_rows);
        let sql = format!(
            "INSERT INTO revenue_ledger (id, tenant_id, partner_id, partner_name, kind, amount_cents,
                 currency, day, source_id, ruleset_id, category, workflow_id)
             SELECT gen_random_uuid(), '{tenant}', p.id, p.name,
                    CASE WHEN i % 10 = 9 THEN 'return' ELSE 'sale' END,
                    CASE WHEN i % 10 = 9 THEN -1250 ELSE 1250 END,
                    CASE WHEN i % 7 = 0 THEN 'EUR' ELSE 'USD' END,
                    (now() AT TIME ZONE 'UTC')::date - (i % 365),
                    d.source_id, d.ruleset_id, d.category, d.workflow_id
             FROM generate_series({from}, {last}) i JOIN dims d ON d.n = i % 20
             CROSS JOIN (SELECT id, name FROM partners WHERE tenant_id = '{tenant}') p",
            last = to - 1
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await?;
        from = to;
    }
    sqlx::raw_sql("VACUUM ANALYZE").execute(pool).await?;
    Ok(())
}

async fn time<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(Duration, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    f().await?;
    let mut took = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await?;
        took.push(t.elapsed());
    }
    took.sort();
    Ok((percentile(&took, 0.5), percentile(&took, 0.99)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rows: i64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);

    let name = format!("economics_bench_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url())).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let outcome = async {
        let pool = PgPool::connect_with(
            format!("{}/{name}", server_url()).parse::<sqlx::postgres::PgConnectOptions>()?,
        )
        .await?;
        db::migrate(&pool).await?;
        let tenant = Uuid::now_v7();
        let t = Instant::now();
        seed(&pool, tenant, rows).await?;
        let counts: (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM cost_ledger), (SELECT count(*) FROM revenue_ledger),
                    (SELECT count(*) FROM economics_daily)",
        )
        .fetch_one(&pool)
        .await?;
        println!(
            "seeded {} cost + {} revenue ledger rows ({} rollup rows) in {:.1} s",
            counts.0,
            counts.1,
            counts.2,
            t.elapsed().as_secs_f64()
        );
        let today = chrono::Utc::now().date_naive();
        println!("| group_by | range | p50 ms | p99 ms | groups |");
        println!("|---|---|---:|---:|---:|");
        for group_by in GroupBy::ALL {
            for (label, since) in [
                ("365 days", None),
                ("30 days", Some(today - chrono::Duration::days(29))),
            ] {
                let q = Query {
                    group_by,
                    since,
                    until: None,
                };
                let groups = economics::report(&pool, tenant, &q).await?.groups.len();
                let (p50, p99) = time(runs, || async {
                    economics::report(&pool, tenant, &q).await?;
                    Ok(())
                })
                .await?;
                println!(
                    "| {group_by} | {label} | {:.1} | {:.1} | {groups} |",
                    ms(p50),
                    ms(p99)
                );
            }
        }
        // Without the rollup: the same money summed from the ledgers per source.
        let (p50, p99) = time(runs.min(10), || async {
            sqlx::query(
                "SELECT source_id, sum(amount_micros) FILTER (WHERE entry = 'settle'),
                        count(*) FILTER (WHERE entry = 'settle')
                 FROM cost_ledger WHERE tenant_id = $1 GROUP BY source_id",
            )
            .bind(tenant)
            .fetch_all(&pool)
            .await?;
            sqlx::query(
                "SELECT source_id, currency, sum(amount_cents) FROM revenue_ledger
                 WHERE tenant_id = $1 GROUP BY source_id, currency",
            )
            .bind(tenant)
            .fetch_all(&pool)
            .await?;
            Ok(())
        })
        .await?;
        println!(
            "| (ledgers summed directly, money only) | 365 days | {:.1} | {:.1} | 20 |",
            ms(p50),
            ms(p99)
        );
        pool.close().await;
        anyhow::Ok(())
    }
    .await;
    if std::env::var_os("ECONOMICS_BENCH_KEEP").is_some() {
        println!("kept the database {name}");
    } else {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
    }
    outcome
}
