//! Scrubbing a person from the engine's own copies, for a GDPR erase (a lead's contact in
//! [`crate::leads::gdpr`], a signal author in [`crate::sources::signals::erase_author`]).
//!
//! Erasing the rows that are *about* a person is not enough: the engine copies what it works
//! on. A webhook's body becomes a run's input; `score_lead` returns the contact, which lands in
//! the job's result, the step's output and the `step_succeeded` event; a later step templates it
//! into an `http_request`'s args, and a target's error page may quote it into a job's errors; an
//! LLM's reasons may quote a signal. [`scrub_copies`] replaces every occurrence of each value by
//! [`ERASED`], for one tenant, in:
//!
//! - `jobs`: args, result and every attempt's error;
//! - `workflow_runs`: input and error; `workflow_run_steps`: output and error;
//!   `workflow_run_events`: data;
//! - `classification_memo`: answers; `classifications`: reasons;
//! - deliveries: `events` (the outbox) and `deliveries`: data; `delivery_attempts`: the
//!   answers' excerpts; `digest_items`: data.
//!
//! Matching ignores ASCII case (an address typed `Bob@Example.com` is the same person) and
//! finds the value inside longer strings. Documents are walked, never edited as text, so any
//! value (quotes, backslashes, a word that is also a JSON keyword) leaves them valid. Not
//! touched: the audit log (the record of who did what, which names erased contacts only by
//! their SHA-256), idempotency keys (renaming one could collide with another), the sealed
//! values of `http_request` headers, and workflow definitions and schedules (configuration,
//! not copies).

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::DomainError;

/// What an erased value becomes.
pub const ERASED: &str = "[erased]";
/// Shorter values are not scrubbed from copies (they would match inside unrelated words); the
/// rows about them are still erased.
pub const MIN_LEN: usize = 3;
/// Rows read per round.
const BATCH: i64 = 500;

/// The values to look for, lower-cased, as they appear in text and inside JSON strings.
struct Needles {
    /// ASCII-lower-cased values, for the replacement.
    ascii: Vec<String>,
    /// Lower-cased values and their JSON-escaped forms, for the database's prefilter.
    sql: Vec<String>,
}

impl Needles {
    fn new(values: &[String]) -> Self {
        let mut ascii: Vec<String> = values
            .iter()
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| v.chars().count() >= MIN_LEN)
            .collect();
        ascii.sort();
        ascii.dedup();
        let mut sql = Vec::with_capacity(ascii.len() * 2);
        for v in &ascii {
            sql.push(v.to_lowercase());
            let escaped = Value::String(v.clone()).to_string();
            let escaped = escaped[1..escaped.len() - 1].to_lowercase();
            sql.push(escaped);
        }
        sql.sort();
        sql.dedup();
        Self { ascii, sql }
    }

    fn is_empty(&self) -> bool {
        self.ascii.is_empty()
    }

    /// `s` with every needle replaced, or `None` when none occurs.
    fn text(&self, s: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for needle in &self.ascii {
            let current = out.as_deref().unwrap_or(s);
            if let Some(replaced) = replace_ignore_ascii_case(current, needle) {
                out = Some(replaced);
            }
        }
        out
    }

    /// Scrubs every string and key of `value`; whether anything changed.
    fn json(&self, value: &mut Value) -> bool {
        match value {
            Value::String(s) => match self.text(s) {
                Some(clean) => {
                    *s = clean;
                    true
                }
                None => false,
            },
            Value::Array(items) => {
                // Every item, not only up to the first that changed.
                let mut changed = false;
                for v in items.iter_mut() {
                    changed |= self.json(v);
                }
                changed
            }
            Value::Object(map) => {
                let mut changed = false;
                let old = std::mem::take(map);
                for (key, mut v) in old {
                    changed |= self.json(&mut v);
                    let key = match self.text(&key) {
                        Some(clean) => {
                            changed = true;
                            clean
                        }
                        None => key,
                    };
                    map.insert(key, v);
                }
                changed
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }

    fn opt_json(&self, value: &mut Option<Value>) -> bool {
        value.as_mut().is_some_and(|v| self.json(v))
    }

    fn opt_text(&self, value: &mut Option<String>) -> bool {
        match value.as_deref().and_then(|s| self.text(s)) {
            Some(clean) => {
                *value = Some(clean);
                true
            }
            None => false,
        }
    }
}

/// `haystack` with every occurrence of `needle` (ASCII-lower-cased) replaced by [`ERASED`],
/// ignoring ASCII case; `None` when there is none.
fn replace_ignore_ascii_case(haystack: &str, needle: &str) -> Option<String> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + n.len() <= h.len() {
        // A match starts and ends on character boundaries: the needle is whole characters and
        // ASCII case folding never changes a multi-byte one.
        if h[i..i + n.len()].eq_ignore_ascii_case(n) && haystack.is_char_boundary(i) {
            out.push_str(&haystack[copied..i]);
            out.push_str(ERASED);
            i += n.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    (copied > 0).then(|| {
        out.push_str(&haystack[copied..]);
        out
    })
}

/// Replaces `values` by [`ERASED`] in the tenant's copies (see the module docs), in the
/// caller's transaction; returns how many rows changed.
pub async fn scrub_copies(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    values: &[String],
) -> Result<u64, DomainError> {
    let needles = Needles::new(values);
    if needles.is_empty() {
        return Ok(0);
    }
    let mut n = scrub_table::<JobRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<RunRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<StepRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<EventRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<ClassificationRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<OutboxRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<DeliveryRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<AttemptRow>(conn, tenant_id, &needles).await?;
    n += scrub_table::<DigestRow>(conn, tenant_id, &needles).await?;
    n += memo(conn, tenant_id, &needles).await?;
    Ok(n)
}

/// A row of a table that holds copies: how to read the tenant's rows that may hold a needle,
/// a page at a time in key order, how to scrub one, and how to write it back. [`scrub_table`]
/// walks every such table the same way.
trait CopyRow: Sized {
    /// Where a page starts: the key of the last row read (the default comes before every row).
    type Key: Default;

    /// Up to [`BATCH`] of the tenant's rows after `after` whose text holds one of `needles`
    /// (the database's prefilter: lower-cased text, JSON-escaped forms included).
    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        after: &Self::Key,
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error>;

    /// This row's key.
    fn key(&self) -> Self::Key;

    /// Scrubs every column that may hold a copy; whether anything changed.
    fn scrub(&mut self, needles: &Needles) -> bool;

    /// Writes the scrubbed columns back.
    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error>;
}

/// Scrubs every row of `R`'s table that holds a needle, a page at a time, writing back only
/// the rows that changed; returns how many did.
async fn scrub_table<R: CopyRow>(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    needles: &Needles,
) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    let mut after = R::Key::default();
    loop {
        let rows = R::page(conn, tenant_id, &after, &needles.sql).await?;
        let Some(last) = rows.last() else {
            return Ok(changed);
        };
        after = last.key();
        for mut row in rows {
            if row.scrub(needles) {
                row.save(conn).await?;
                changed += 1;
            }
        }
    }
}

/// `jobs`: args, result and every attempt's error.
struct JobRow {
    id: Uuid,
    args: Value,
    result: Option<Value>,
    errors: Value,
}

impl CopyRow for JobRow {
    type Key = Uuid;

    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        after: &Uuid,
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            JobRow,
            r#"SELECT id, args, result, errors FROM jobs j
               WHERE tenant_id = $1 AND id > $2
                 AND EXISTS (SELECT 1 FROM unnest($3::text[]) v
                             WHERE strpos(lower(j.args::text), v) > 0
                                OR strpos(lower(j.result::text), v) > 0
                                OR strpos(lower(j.errors::text), v) > 0)
               ORDER BY id LIMIT $4"#,
            tenant_id,
            after,
            needles,
            BATCH
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> Uuid {
        self.id
    }

    fn scrub(&mut self, needles: &Needles) -> bool {
        needles.json(&mut self.args)
            | needles.opt_json(&mut self.result)
            | needles.json(&mut self.errors)
    }

    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "UPDATE jobs SET args = $2, result = $3, errors = $4 WHERE id = $1",
            self.id,
            self.args,
            self.result,
            self.errors
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// `workflow_runs`: input and error.
struct RunRow {
    id: Uuid,
    input: Value,
    error: Option<String>,
}

impl CopyRow for RunRow {
    type Key = Uuid;

    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        after: &Uuid,
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            RunRow,
            r#"SELECT id, input, error FROM workflow_runs r
               WHERE tenant_id = $1 AND id > $2
                 AND EXISTS (SELECT 1 FROM unnest($3::text[]) v
                             WHERE strpos(lower(r.input::text), v) > 0
                                OR strpos(lower(r.error), v) > 0)
               ORDER BY id LIMIT $4"#,
            tenant_id,
            after,
            needles,
            BATCH
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> Uuid {
        self.id
    }

    fn scrub(&mut self, needles: &Needles) -> bool {
        needles.json(&mut self.input) | needles.opt_text(&mut self.error)
    }

    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "UPDATE workflow_runs SET input = $2, error = $3 WHERE id = $1",
            self.id,
            self.input,
            self.error
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// `workflow_run_steps`: output and error.
struct StepRow {
    run_id: Uuid,
    step: String,
    output: Option<Value>,
    error: Option<String>,
}

impl CopyRow for StepRow {
    type Key = (Uuid, String);

    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        (after_run, after_step): &(Uuid, String),
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            StepRow,
            r#"SELECT s.run_id, s.step, s.output, s.error
               FROM workflow_run_steps s JOIN workflow_runs r ON r.id = s.run_id
               WHERE r.tenant_id = $1 AND (s.run_id, s.step) > ($2, $3)
                 AND EXISTS (SELECT 1 FROM unnest($4::text[]) v
                             WHERE strpos(lower(s.output::text), v) > 0
                                OR strpos(lower(s.error), v) > 0)
               ORDER BY s.run_id, s.step LIMIT $5"#,
            tenant_id,
            after_run,
            after_step,
            needles,
            BATCH
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> (Uuid, String) {
        (self.run_id, self.step.clone())
    }

    fn scrub(&mut self, needles: &Needles) -> bool {
        needles.opt_json(&mut self.output) | needles.opt_text(&mut self.error)
    }

    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "UPDATE workflow_run_steps SET output = $3, error = $4 WHERE run_id = $1 AND step = $2",
            self.run_id,
            self.step,
            self.output,
            self.error
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// `workflow_run_events`: data.
struct EventRow {
    id: i64,
    data: Value,
}

impl CopyRow for EventRow {
    type Key = i64;

    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        after: &i64,
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            EventRow,
            r#"SELECT e.id, e.data
               FROM workflow_run_events e JOIN workflow_runs r ON r.id = e.run_id
               WHERE r.tenant_id = $1 AND e.id > $2
                 AND EXISTS (SELECT 1 FROM unnest($3::text[]) v
                             WHERE strpos(lower(e.data::text), v) > 0)
               ORDER BY e.id LIMIT $4"#,
            tenant_id,
            after,
            needles,
            BATCH
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> i64 {
        self.id
    }

    fn scrub(&mut self, needles: &Needles) -> bool {
        needles.json(&mut self.data)
    }

    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "UPDATE workflow_run_events SET data = $2 WHERE id = $1",
            self.id,
            self.data
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// A table whose `data` document may hold copies, rows keyed by `id`: the struct and its
/// [`CopyRow`] from its two queries (checked queries need their text written out).
macro_rules! data_row {
    ($(#[$doc:meta])* $row:ident, page: $page:literal, save: $save:literal) => {
        $(#[$doc])*
        struct $row {
            id: Uuid,
            data: Value,
        }

        impl CopyRow for $row {
            type Key = Uuid;

            async fn page(
                conn: &mut PgConnection,
                tenant_id: Uuid,
                after: &Uuid,
                needles: &[String],
            ) -> Result<Vec<Self>, sqlx::Error> {
                sqlx::query_as!($row, $page, tenant_id, after, needles, BATCH)
                    .fetch_all(conn)
                    .await
            }

            fn key(&self) -> Uuid {
                self.id
            }

            fn scrub(&mut self, needles: &Needles) -> bool {
                needles.json(&mut self.data)
            }

            async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
                sqlx::query!($save, self.id, self.data).execute(conn).await?;
                Ok(())
            }
        }
    };
}

data_row!(
    /// `events` (the deliveries' outbox): data.
    OutboxRow,
    page: r#"SELECT id, data FROM events e
             WHERE tenant_id = $1 AND id > $2
               AND EXISTS (SELECT 1 FROM unnest($3::text[]) v
                           WHERE strpos(lower(e.data::text), v) > 0)
             ORDER BY id LIMIT $4"#,
    save: "UPDATE events SET data = $2 WHERE id = $1"
);

data_row!(
    /// `deliveries`: data.
    DeliveryRow,
    page: r#"SELECT id, data FROM deliveries d
             WHERE tenant_id = $1 AND id > $2
               AND EXISTS (SELECT 1 FROM unnest($3::text[]) v
                           WHERE strpos(lower(d.data::text), v) > 0)
             ORDER BY id LIMIT $4"#,
    save: "UPDATE deliveries SET data = $2 WHERE id = $1"
);

/// `delivery_attempts`: the excerpt of what the other side answered (a receiver may echo).
struct AttemptRow {
    id: Uuid,
    excerpt: String,
}

impl CopyRow for AttemptRow {
    type Key = Uuid;

    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        after: &Uuid,
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            AttemptRow,
            r#"SELECT a.id, a.excerpt
               FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
               WHERE d.tenant_id = $1 AND a.id > $2
                 AND EXISTS (SELECT 1 FROM unnest($3::text[]) v
                             WHERE strpos(lower(a.excerpt), v) > 0)
               ORDER BY a.id LIMIT $4"#,
            tenant_id,
            after,
            needles,
            BATCH
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> Uuid {
        self.id
    }

    fn scrub(&mut self, needles: &Needles) -> bool {
        match needles.text(&self.excerpt) {
            Some(clean) => {
                self.excerpt = clean;
                true
            }
            None => false,
        }
    }

    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "UPDATE delivery_attempts SET excerpt = $2 WHERE id = $1",
            self.id,
            self.excerpt
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// `digest_items`: data.
struct DigestRow {
    rule_id: Uuid,
    destination_id: Uuid,
    subject: String,
    data: Value,
}

impl CopyRow for DigestRow {
    type Key = (Uuid, Uuid, String);

    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        after: &(Uuid, Uuid, String),
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            DigestRow,
            r#"SELECT rule_id, destination_id, subject, data FROM digest_items i
               WHERE tenant_id = $1 AND (rule_id, destination_id, subject) > ($2, $3, $4)
                 AND EXISTS (SELECT 1 FROM unnest($5::text[]) v
                             WHERE strpos(lower(i.data::text), v) > 0)
               ORDER BY rule_id, destination_id, subject LIMIT $6"#,
            tenant_id,
            after.0,
            after.1,
            after.2,
            needles,
            BATCH
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> (Uuid, Uuid, String) {
        (self.rule_id, self.destination_id, self.subject.clone())
    }

    fn scrub(&mut self, needles: &Needles) -> bool {
        needles.json(&mut self.data)
    }

    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!(
            r#"UPDATE digest_items SET data = $4
               WHERE rule_id = $1 AND destination_id = $2 AND subject = $3"#,
            self.rule_id,
            self.destination_id,
            self.subject,
            self.data
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// `classifications`: reasons.
struct ClassificationRow {
    id: Uuid,
    reasons: Value,
}

impl CopyRow for ClassificationRow {
    type Key = Uuid;

    async fn page(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        after: &Uuid,
        needles: &[String],
    ) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            ClassificationRow,
            r#"SELECT id, reasons FROM classifications c
               WHERE tenant_id = $1 AND id > $2
                 AND EXISTS (SELECT 1 FROM unnest($3::text[]) v
                             WHERE strpos(lower(c.reasons::text), v) > 0)
               ORDER BY id LIMIT $4"#,
            tenant_id,
            after,
            needles,
            BATCH
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> Uuid {
        self.id
    }

    fn scrub(&mut self, needles: &Needles) -> bool {
        needles.json(&mut self.reasons)
    }

    async fn save(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "UPDATE classifications SET reasons = $2 WHERE id = $1",
            self.id,
            self.reasons
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// `classification_memo`: answers. Memo rows are few per tenant and keyed by three columns:
/// one pass, no paging.
async fn memo(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    needles: &Needles,
) -> Result<u64, DomainError> {
    let rows = sqlx::query!(
        r#"SELECT ruleset_version_id, content_hash, model, answer AS "answer!"
           FROM classification_memo m
           WHERE tenant_id = $1 AND answer IS NOT NULL
             AND EXISTS (SELECT 1 FROM unnest($2::text[]) v
                         WHERE strpos(lower(m.answer::text), v) > 0)"#,
        tenant_id,
        &needles.sql
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut changed = 0;
    for mut row in rows {
        if needles.json(&mut row.answer) {
            sqlx::query!(
                r#"UPDATE classification_memo SET answer = $4, updated_at = now()
                   WHERE ruleset_version_id = $1 AND content_hash = $2 AND model = $3"#,
                row.ruleset_version_id,
                row.content_hash,
                row.model,
                row.answer
            )
            .execute(&mut *conn)
            .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests;
