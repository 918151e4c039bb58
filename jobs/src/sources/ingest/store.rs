//! Prepared items into `signals`, in the caller's transaction: exact duplicates skipped, gates
//! applied, near duplicates linked to their original, rejections counted.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Gates, Prepared, hamming, simhash::bands};
use crate::{DomainError, sources::signals::SignalState};

/// Most ids of new signals an ingest report lists (`new_signal_ids`); `new_signal_ids_truncated`
/// says when there were more.
pub const MAX_NEW_SIGNAL_IDS: usize = 1000;

/// The discard reason of a near duplicate.
const NEAR_DUPLICATE: &str = "near_duplicate";

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Items read.
    pub items: usize,
    /// New signals (state `new`).
    pub inserted: usize,
    /// The ids of the new signals (ordered by id, which is by insertion), at most [`MAX_NEW_SIGNAL_IDS`] (a workflow's
    /// `for_each` reads them, e.g. `steps.fetch.output.new_signal_ids`).
    pub new_signal_ids: Vec<Uuid>,
    /// Whether there were more new signals than [`MAX_NEW_SIGNAL_IDS`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new_signal_ids_truncated: bool,
    /// Items already held (same content hash), including repeats within the batch.
    pub duplicates: usize,
    /// Near duplicates, stored `discarded` and linked to their original.
    pub near_duplicates: usize,
    /// Items refused by a quality gate, by reason (stored `discarded` once).
    pub rejected: BTreeMap<String, usize>,
}

#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    external_ids: Vec<Option<String>>,
    urls: Vec<Option<String>>,
    titles: Vec<String>,
    htmls: Vec<String>,
    texts: Vec<String>,
    authors: Vec<Option<String>>,
    languages: Vec<Option<String>>,
    published: Vec<Option<DateTime<Utc>>>,
    hashes: Vec<Vec<u8>>,
    simhashes: Vec<i64>,
    states: Vec<String>,
    reasons: Vec<Option<String>>,
    original_hashes: Vec<Option<Vec<u8>>>,
    likes: Vec<Option<i32>>,
    reposts: Vec<Option<i32>>,
    comments: Vec<Option<i32>>,
    points: Vec<Option<i32>>,
}

impl Columns {
    fn push(
        &mut self,
        p: &Prepared,
        state: SignalState,
        reason: Option<&str>,
        original: Option<&[u8]>,
    ) {
        self.ids.push(Uuid::now_v7());
        self.external_ids.push(p.external_id.clone());
        self.urls.push(p.url.clone());
        self.titles.push(p.title.clone());
        self.htmls.push(p.body_html.clone());
        self.texts.push(p.body_text.clone());
        self.authors.push(p.author.clone());
        self.languages.push(p.language.clone());
        self.published.push(p.published_at);
        self.hashes.push(p.content_hash.to_vec());
        self.simhashes.push(p.simhash);
        self.states.push(state.as_str().to_owned());
        self.reasons.push(reason.map(str::to_owned));
        self.original_hashes.push(original.map(<[u8]>::to_vec));
        self.likes.push(p.engagement.likes);
        self.reposts.push(p.engagement.reposts);
        self.comments.push(p.engagement.comments);
        self.points.push(p.engagement.points);
    }

    /// Inserts the rows; returns the ids and reasons of the rows actually inserted (conflicts
    /// skipped), in the order given.
    async fn insert(
        &self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        source_id: Uuid,
    ) -> Result<Vec<(Uuid, Option<String>)>, DomainError> {
        if self.ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = sqlx::query!(
            r#"INSERT INTO signals (id, tenant_id, source_id, external_id, url, title, body_html,
                                    body_text, author, language, published_at, content_hash,
                                    simhash, state, discard_reason, duplicate_of, likes, reposts,
                                    comments, points)
               SELECT c.id, $1, $2, c.external_id, c.url, c.title, c.html, c.text, c.author,
                      c.language, c.published_at, c.hash, c.simhash, c.state, c.reason,
                      (SELECT o.id FROM signals o WHERE o.tenant_id = $1 AND o.content_hash = c.original),
                      c.likes, c.reposts, c.comments, c.points
               FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                           $9::text[], $10::text[], $11::timestamptz[], $12::bytea[], $13::int8[],
                           $14::text[], $15::text[], $16::bytea[], $17::int4[], $18::int4[],
                           $19::int4[], $20::int4[])
                    AS c(id, external_id, url, title, html, text, author, language, published_at,
                         hash, simhash, state, reason, original, likes, reposts, comments, points)
               ON CONFLICT (tenant_id, content_hash) DO NOTHING
               RETURNING id, discard_reason"#,
            tenant_id,
            source_id,
            &self.ids,
            &self.external_ids as &[Option<String>],
            &self.urls as &[Option<String>],
            &self.titles,
            &self.htmls,
            &self.texts,
            &self.authors as &[Option<String>],
            &self.languages as &[Option<String>],
            &self.published as &[Option<DateTime<Utc>>],
            &self.hashes,
            &self.simhashes,
            &self.states,
            &self.reasons as &[Option<String>],
            &self.original_hashes as &[Option<Vec<u8>>],
            &self.likes as &[Option<i32>],
            &self.reposts as &[Option<i32>],
            &self.comments as &[Option<i32>],
            &self.points as &[Option<i32>],
        )
        .fetch_all(conn)
        .await?;
        let mut rows: Vec<(Uuid, Option<String>)> =
            rows.into_iter().map(|r| (r.id, r.discard_reason)).collect();
        // RETURNING has no order; v7 ids were made in the order given.
        rows.sort_by_key(|r| r.0);
        Ok(rows)
    }
}

/// applying `gates` and deduplicating (see the module docs).
pub async fn store(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    source_id: Uuid,
    gates: &Gates,
    items: Vec<Prepared>,
) -> Result<Report, DomainError> {
    let mut report = Report {
        items: items.len(),
        ..Default::default()
    };
    // Exact repeats within the batch.
    let mut seen = HashSet::new();
    let items: Vec<Prepared> = items
        .into_iter()
        .filter(|p| seen.insert(p.content_hash))
        .collect();
    report.duplicates += report.items - items.len();
    // Drop what is already held: only what is new is gated and compared.
    let hashes: Vec<Vec<u8>> = items.iter().map(|p| p.content_hash.to_vec()).collect();
    let held: HashSet<Vec<u8>> = sqlx::query_scalar!(
        "SELECT content_hash FROM signals WHERE tenant_id = $1 AND content_hash = ANY($2)",
        tenant_id,
        &hashes
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let before = items.len();
    let items: Vec<Prepared> = items
        .into_iter()
        .filter(|p| !held.contains(p.content_hash.as_slice()))
        .collect();
    report.duplicates += before - items.len();

    let mut originals = Columns::default();
    let mut rejected = Columns::default();
    let mut candidates: Vec<&Prepared> = Vec::new();
    for p in &items {
        match gates.check(p) {
            Some(r) => rejected.push(p, SignalState::Discarded, Some(r.as_str()), None),
            None => candidates.push(p),
        }
    }

    // Near duplicates of what the tenant already holds, within the window.
    let threshold = gates.settings().simhash_threshold;
    let simhashes: Vec<i64> = candidates.iter().map(|p| p.simhash).collect();
    let matches: HashMap<i64, Vec<u8>> = if candidates.is_empty() {
        HashMap::new()
    } else {
        sqlx::query!(
            r#"SELECT c.h AS "h!", m.content_hash AS "original!"
               FROM unnest($2::int8[]) AS c(h)
               CROSS JOIN LATERAL (
                   SELECT s.content_hash FROM signals s
                   WHERE s.tenant_id = $1 AND s.duplicate_of IS NULL AND s.discard_reason IS NULL
                     AND s.created_at > now() - make_interval(secs => $4)
                     AND (s.band0 = ((c.h >> 48) & 65535)::int OR s.band1 = ((c.h >> 32) & 65535)::int
                          OR s.band2 = ((c.h >> 16) & 65535)::int OR s.band3 = (c.h & 65535)::int)
                     AND bit_count((s.simhash # c.h)::bit(64)) <= $3
                   ORDER BY s.created_at, s.id
                   LIMIT 1) m"#,
            tenant_id,
            &simhashes,
            i64::from(threshold),
            f64::from(gates.settings().near_duplicate_window_secs),
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.h, r.original))
        .collect()
    };

    // Near duplicates within the batch: compare against earlier originals sharing a band.
    let mut band_index: [HashMap<i32, Vec<usize>>; 4] = Default::default();
    let mut kept: Vec<&Prepared> = Vec::new();
    let mut near = Columns::default();
    for p in candidates {
        if let Some(original) = matches.get(&p.simhash) {
            near.push(
                p,
                SignalState::Discarded,
                Some(NEAR_DUPLICATE),
                Some(original),
            );
            continue;
        }
        let b = bands(p.simhash);
        let original = (0..4).find_map(|i| {
            band_index[i].get(&b[i]).and_then(|idxs| {
                idxs.iter()
                    .map(|&k| kept[k])
                    .find(|o| hamming(o.simhash as u64, p.simhash as u64) <= threshold as u32)
            })
        });
        match original {
            Some(o) => near.push(
                p,
                SignalState::Discarded,
                Some(NEAR_DUPLICATE),
                Some(&o.content_hash),
            ),
            None => {
                let k = kept.len();
                kept.push(p);
                for i in 0..4 {
                    band_index[i].entry(b[i]).or_default().push(k);
                }
                originals.push(p, SignalState::New, None, None);
            }
        }
    }

    // Originals first, so the near duplicates' `duplicate_of` finds them.
    let inserted = originals.insert(conn, tenant_id, source_id).await?;
    report.inserted = inserted.len();
    report.new_signal_ids_truncated = inserted.len() > MAX_NEW_SIGNAL_IDS;
    report.new_signal_ids = inserted
        .iter()
        .take(MAX_NEW_SIGNAL_IDS)
        .map(|r| r.0)
        .collect();
    let inserted_near = near.insert(conn, tenant_id, source_id).await?;
    report.near_duplicates = inserted_near.len();
    let inserted_rejected = rejected.insert(conn, tenant_id, source_id).await?;
    // Whatever lost a race to a concurrent ingest is a duplicate.
    report.duplicates += (originals.ids.len() - inserted.len())
        + (near.ids.len() - inserted_near.len())
        + (rejected.ids.len() - inserted_rejected.len());
    for (_, reason) in inserted_rejected {
        let Some(reason) = reason else { continue };
        *report.rejected.entry(reason).or_default() += 1;
    }
    if !report.rejected.is_empty() {
        let reasons: Vec<String> = report.rejected.keys().cloned().collect();
        let counts: Vec<i64> = report.rejected.values().map(|n| *n as i64).collect();
        sqlx::query!(
            r#"INSERT INTO signal_rejections (tenant_id, source_id, reason, count)
               SELECT $1, $2, r.reason, r.n FROM unnest($3::text[], $4::int8[]) AS r(reason, n)
               ON CONFLICT (tenant_id, source_id, reason)
               DO UPDATE SET count = signal_rejections.count + excluded.count, last_at = now()"#,
            tenant_id,
            source_id,
            &reasons,
            &counts
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{
        ingest::{item, prepare},
        signals::QualitySettings,
    };

    async fn tenant_and_source(pool: &sqlx::PgPool) -> (Uuid, Uuid) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        let new = crate::sources::NewSource::try_from(serde_json::json!({"kind": "push"})).unwrap();
        let source =
            crate::sources::create(&mut conn, tenant, &crate::audit::Actor::default(), new)
                .await
                .unwrap();
        (tenant, source.id)
    }

    fn batch(n: usize) -> Vec<Prepared> {
        (0..n)
            .map(|i| {
                prepare(
                    item(
                        &format!("Post number {i}"),
                        &format!(
                            "Item {i} talks about topic {} in words of its own, {} times over",
                            i * 7919 % 1000,
                            i
                        ),
                    ),
                    None,
                )
            })
            .collect()
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn concurrent_ingests_of_the_same_items_store_each_once(pool: sqlx::PgPool) {
        let (tenant, source) = tenant_and_source(&pool).await;
        let gates = Gates::new(QualitySettings {
            simhash_threshold: 0,
            ..Default::default()
        });
        let items = batch(60);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (pool, gates, items) = (pool.clone(), gates.clone(), items.clone());
                tokio::spawn(async move {
                    let mut tx = pool.begin().await.unwrap();
                    let r = store(&mut tx, tenant, source, &gates, items).await.unwrap();
                    tx.commit().await.unwrap();
                    r
                })
            })
            .collect();
        let mut inserted = 0;
        for t in tasks {
            let r = t.await.unwrap();
            assert_eq!(r.inserted + r.duplicates + r.near_duplicates, 60, "{r:?}");
            inserted += r.inserted;
        }
        assert_eq!(inserted, 60, "each item stored by exactly one ingest");
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM signals")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 60);
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn near_duplicates_link_to_their_original_and_rejections_count_once(pool: sqlx::PgPool) {
        let (tenant, source) = tenant_and_source(&pool).await;
        let gates = Gates::new(QualitySettings::default());
        let text = "Looking for a reliable plumber in Austin to fix a leaking water heater this week. \
            The old one is twelve years old and the pressure valve keeps dripping onto the garage floor, \
            and the pilot light goes out every other night. We called two companies already but neither \
            could come before the end of the month, which is far too long with a toddler in the house. \
            Any recommendations for someone honest who shows up on time would be very welcome";
        let original = prepare(item("Plumber needed", text), None);
        let mut tx = pool.begin().await.unwrap();
        let r = store(&mut tx, tenant, source, &gates, vec![original])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(r.inserted, 1);

        let again = prepare(item("Plumber needed", &format!("{text} thanks")), None);
        let first = prepare(item("Plumber needed", text), None);
        assert_ne!(again.content_hash, first.content_hash);
        assert!(hamming(again.simhash as u64, first.simhash as u64) <= 3);
        let spam = prepare(item("hi", "yo"), None);
        for round in 0..2 {
            let mut tx = pool.begin().await.unwrap();
            let r = store(
                &mut tx,
                tenant,
                source,
                &gates,
                vec![again.clone(), spam.clone()],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            if round == 0 {
                assert_eq!((r.inserted, r.near_duplicates), (0, 1), "{r:?}");
                assert_eq!(r.rejected.get("too_short"), Some(&1));
            } else {
                assert_eq!(r.duplicates, 2, "the second poll finds both held: {r:?}");
                assert!(r.rejected.is_empty());
            }
        }
        let (state, reason, linked): (SignalState, String, bool) = sqlx::query_as(
            "SELECT d.state, d.discard_reason, d.duplicate_of = o.id FROM signals d, signals o
             WHERE d.duplicate_of IS NOT NULL AND o.duplicate_of IS NULL AND o.discard_reason IS NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            (state, reason.as_str(), linked),
            (SignalState::Discarded, NEAR_DUPLICATE, true)
        );
        let counts = crate::sources::signals::rejections(&pool, tenant)
            .await
            .unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!(
            (counts[0].reason.as_str(), counts[0].count),
            ("too_short", 1)
        );
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_feed_item_with_nul_characters_is_stored_as_a_signal(pool: sqlx::PgPool) {
        let (tenant, source) = tenant_and_source(&pool).await;
        // `&#0;` in the title and the text, a raw NUL in the author, the guid and the body:
        // Postgres refuses U+0000 in text, so each used to fail the whole batch's write.
        let xml = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>c</title>\
            <item><title>Need a plumber &amp;#0; today</title><guid>id-\0-1</guid>\
            <link>https://example.com/p/1</link><author>bob\0@example.com (Bob\0)</author>\
            <description>Our water heater leaks &amp;#0; and \0 the valve drips every night, \
            please help us find someone reliable nearby this week</description></item>\
            </channel></rss>";
        let base = url::Url::parse("https://example.com/feed").unwrap();
        let items = crate::sources::feed::parse(
            crate::sources::SourceKind::Rss,
            xml.as_bytes(),
            Some("application/rss+xml"),
            &base,
        )
        .unwrap();
        assert_eq!(items.len(), 1);
        let gates = Gates::new(QualitySettings::default());
        let mut tx = pool.begin().await.unwrap();
        let r = store(
            &mut tx,
            tenant,
            source,
            &gates,
            crate::sources::ingest::prepare_all(items, Some(&base)),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(r.inserted, 1, "{r:?}");
        let (title, text, author, external_id): (String, String, Option<String>, Option<String>) =
            sqlx::query_as("SELECT title, body_text, author, external_id FROM signals")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(title, "Need a plumber \u{FFFD} today");
        assert!(text.contains("leaks \u{FFFD} and"), "{text}");
        for field in [Some(title), Some(text), author, external_id]
            .into_iter()
            .flatten()
        {
            assert!(!field.contains('\0'), "{field:?}");
        }
    }
}
