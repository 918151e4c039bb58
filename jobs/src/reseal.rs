//! Re-sealing every stored secret under the operator's active key: `api reseal-secrets`.
//!
//! A stored secret needs it when it is still in clear (written before sealing existed) or was
//! sealed with a key other than the first one in `DEMANDFLOW_SECRET_KEY` (a rotation). What is
//! covered: push sources' secrets (`sources.secret`), webhooks' current and previous secrets
//! (`workflow_webhooks.secret`, `previous_secret`), destinations' credentials
//! (`destinations.credentials`), subscriptions' signing secrets (`subscriptions.secrets`),
//! publishing accounts' access tokens (`publish_accounts.token`),
//! partners' auth and postback secrets (`partners.credentials`), and
//! the sensitive headers in the args of `http_request` jobs that may still run (any state but
//! `succeeded`).
//!
//! Rows are read in batches by id and each one is written back only if it still holds what was
//! read (a compare-and-set), so a rotation or an edit made meanwhile is never overwritten. A
//! second run finds nothing to do: the command is idempotent, cheap when there is nothing to
//! re-seal, and safe to run on every release. A value that does not open (its key is no longer
//! configured) is left as it is and reported by table and id, never by value.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    deliveries::{channels::CREDENTIALS_PURPOSE, subscriptions},
    kinds::JobKind,
    kinds::http_request::{self, HttpRequest},
    publishing::accounts,
    secrets::{self, Keyring, SecretError},
    sources,
    workflows::webhooks,
};
use secrecy::ExposeSecret;

/// What a run re-sealed, and what it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Push sources' secrets re-sealed.
    pub sources: u64,
    /// Webhook secrets (current or previous) re-sealed.
    pub webhooks: u64,
    /// Destinations' credentials, subscriptions' and partners' secrets re-sealed.
    pub deliveries: u64,
    /// `http_request` jobs whose sensitive headers were re-sealed.
    pub jobs: u64,
    /// Publishing accounts' access tokens re-sealed.
    pub accounts: u64,
    /// Values that do not open with any configured key: `(table, id, why)`.
    pub failed: Vec<(&'static str, Uuid, SecretError)>,
}

impl Resealed {
    /// How many values were re-sealed.
    pub fn total(&self) -> u64 {
        self.sources + self.webhooks + self.deliveries + self.jobs + self.accounts
    }
}

/// `stored` re-sealed for `purpose` with the active key, or `None` when it needs nothing.
fn reseal_value(
    keyring: &Keyring,
    purpose: &str,
    stored: &str,
) -> Result<Option<String>, SecretError> {
    if !keyring.needs_reseal(stored) {
        return Ok(None);
    }
    let plain = keyring.open(purpose, stored)?;
    Ok(Some(keyring.seal(purpose, plain.expose_secret())))
}

/// Re-seals every stored secret that needs it with the installed keyring, `batch` rows at a
/// time (see the module docs).
pub async fn reseal_all(pool: &PgPool, batch: i64) -> Result<Resealed, ResealError> {
    reseal_with(pool, secrets::keyring()?, batch).await
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    /// No keyring is installed.
    #[error(transparent)]
    Keyring(#[from] SecretError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// [`reseal_all`] with `keyring`.
pub async fn reseal_with(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
) -> Result<Resealed, ResealError> {
    let batch = batch.clamp(1, 10_000);
    let mut done = Resealed::default();
    reseal_sources(pool, keyring, batch, &mut done).await?;
    reseal_webhooks(pool, keyring, batch, &mut done).await?;
    reseal_destinations(pool, keyring, batch, &mut done).await?;
    reseal_subscriptions(pool, keyring, batch, &mut done).await?;
    reseal_partners(pool, keyring, batch, &mut done).await?;
    reseal_jobs(pool, keyring, batch, &mut done).await?;
    reseal_accounts(pool, keyring, batch, &mut done).await?;
    Ok(done)
}

/// Walks rows in key order, a page at a time, without holding them all: `page` reads the rows
/// after a key (the first call gets `first`, a key before every row), `key` is a row's key, and
/// `each` handles one row. Stops at the first empty page or the first error. `ctx` is lent to
/// `page` and `each` in turn. (The future is not `Send` when the closures borrow what they are
/// lent, so it serves this command, not a request handler.)
async fn walk<C: ?Sized, K, R, E>(
    ctx: &mut C,
    first: K,
    mut page: impl AsyncFnMut(&mut C, &K) -> Result<Vec<R>, E>,
    key: impl Fn(&R) -> K,
    mut each: impl AsyncFnMut(&mut C, R) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = first;
    loop {
        let rows = page(ctx, &after).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = key(last);
        for row in rows {
            each(ctx, row).await?;
        }
    }
}

/// Settles one value of row `id` of `table`: nothing when `resealed` is `None` (it needed
/// nothing), `write` the new value when there is one (returning the rows it wrote), or a
/// failure recorded in `failed` when the value did not open.
async fn settle<T>(
    failed: &mut Vec<(&'static str, Uuid, SecretError)>,
    table: &'static str,
    id: Uuid,
    resealed: Result<Option<T>, SecretError>,
    write: impl AsyncFnOnce(T) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error>,
) -> Result<u64, sqlx::Error> {
    match resealed {
        Ok(None) => Ok(0),
        Ok(Some(value)) => Ok(write(value).await?.rows_affected()),
        Err(e) => {
            failed.push((table, id, e));
            Ok(0)
        }
    }
}

async fn reseal_sources(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
    done: &mut Resealed,
) -> Result<(), sqlx::Error> {
    walk(
        done,
        Uuid::nil(),
        async |_, after| {
            sqlx::query!(
                r#"SELECT id, secret AS "secret!" FROM sources
                   WHERE secret IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"#,
                after,
                batch
            )
            .fetch_all(pool)
            .await
        },
        |row| row.id,
        async |done, row| {
            let sealed = reseal_value(keyring, sources::SECRET_PURPOSE, &row.secret);
            done.sources += settle(
                &mut done.failed,
                "sources",
                row.id,
                sealed,
                async |sealed| {
                    sqlx::query!(
                        "UPDATE sources SET secret = $3 WHERE id = $1 AND secret = $2",
                        row.id,
                        row.secret,
                        sealed
                    )
                    .execute(pool)
                    .await
                },
            )
            .await?;
            Ok(())
        },
    )
    .await
}

async fn reseal_webhooks(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
    done: &mut Resealed,
) -> Result<(), sqlx::Error> {
    let (purpose, table) = (webhooks::SECRET_PURPOSE, "workflow_webhooks");
    walk(
        done,
        Uuid::nil(),
        async |_, after| {
            sqlx::query!(
                r#"SELECT id, secret, previous_secret FROM workflow_webhooks
                   WHERE id > $1 ORDER BY id LIMIT $2"#,
                after,
                batch
            )
            .fetch_all(pool)
            .await
        },
        |row| row.id,
        async |done, row| {
            let sealed = reseal_value(keyring, purpose, &row.secret);
            done.webhooks += settle(&mut done.failed, table, row.id, sealed, async |sealed| {
                sqlx::query!(
                    "UPDATE workflow_webhooks SET secret = $3 WHERE id = $1 AND secret = $2",
                    row.id,
                    row.secret,
                    sealed
                )
                .execute(pool)
                .await
            })
            .await?;
            let Some(previous) = row.previous_secret else {
                return Ok(());
            };
            let sealed = reseal_value(keyring, purpose, &previous);
            done.webhooks += settle(&mut done.failed, table, row.id, sealed, async |sealed| {
                sqlx::query!(
                    r#"UPDATE workflow_webhooks SET previous_secret = $3
                       WHERE id = $1 AND previous_secret = $2"#,
                    row.id,
                    previous,
                    sealed
                )
                .execute(pool)
                .await
            })
            .await?;
            Ok(())
        },
    )
    .await
}

async fn reseal_destinations(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
    done: &mut Resealed,
) -> Result<(), sqlx::Error> {
    walk(
        done,
        Uuid::nil(),
        async |_, after| {
            sqlx::query!(
                "SELECT id, credentials FROM destinations WHERE id > $1 ORDER BY id LIMIT $2",
                after,
                batch
            )
            .fetch_all(pool)
            .await
        },
        |row| row.id,
        async |done, row| {
            let sealed = reseal_value(keyring, CREDENTIALS_PURPOSE, &row.credentials);
            let table = "destinations";
            done.deliveries += settle(&mut done.failed, table, row.id, sealed, async |sealed| {
                sqlx::query!(
                    "UPDATE destinations SET credentials = $3 WHERE id = $1 AND credentials = $2",
                    row.id,
                    row.credentials,
                    sealed
                )
                .execute(pool)
                .await
            })
            .await?;
            Ok(())
        },
    )
    .await
}

/// Partners' sealed credentials (their auth and postback secrets), as destinations'.
async fn reseal_partners(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
    done: &mut Resealed,
) -> Result<(), sqlx::Error> {
    let purpose = crate::partners::spec::CREDENTIALS_PURPOSE;
    let page = async |_: &mut Resealed, after: &Uuid| {
        sqlx::query!(
            "SELECT id, credentials FROM partners WHERE id > $1 ORDER BY id LIMIT $2",
            after,
            batch
        )
        .fetch_all(pool)
        .await
    };
    walk(
        done,
        Uuid::nil(),
        page,
        |row| row.id,
        async |done, row| {
            let resealed = reseal_value(keyring, purpose, &row.credentials);
            let write = async |new: String| {
                sqlx::query!(
                    "UPDATE partners SET credentials = $3 WHERE id = $1 AND credentials = $2",
                    row.id,
                    row.credentials,
                    new
                )
                .execute(pool)
                .await
            };
            done.deliveries +=
                settle(&mut done.failed, "partners", row.id, resealed, write).await?;
            Ok(())
        },
    )
    .await
}

async fn reseal_subscriptions(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
    done: &mut Resealed,
) -> Result<(), sqlx::Error> {
    walk(
        done,
        Uuid::nil(),
        async |_, after| {
            sqlx::query!(
                "SELECT id, secrets FROM subscriptions WHERE id > $1 ORDER BY id LIMIT $2",
                after,
                batch
            )
            .fetch_all(pool)
            .await
        },
        |row| row.id,
        async |done, row| {
            let sealed = reseal_value(keyring, subscriptions::SECRETS_PURPOSE, &row.secrets);
            let table = "subscriptions";
            done.deliveries += settle(&mut done.failed, table, row.id, sealed, async |sealed| {
                sqlx::query!(
                    "UPDATE subscriptions SET secrets = $3 WHERE id = $1 AND secrets = $2",
                    row.id,
                    row.secrets,
                    sealed
                )
                .execute(pool)
                .await
            })
            .await?;
            Ok(())
        },
    )
    .await
}

async fn reseal_accounts(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
    done: &mut Resealed,
) -> Result<(), sqlx::Error> {
    let page = async |_: &mut Resealed, after: &Uuid| {
        sqlx::query!(
            "SELECT id, token FROM publish_accounts WHERE id > $1 ORDER BY id LIMIT $2",
            after,
            batch
        )
        .fetch_all(pool)
        .await
    };
    walk(
        done,
        Uuid::nil(),
        page,
        |row| row.id,
        async |done, row| {
            let sealed = reseal_value(keyring, accounts::TOKEN_PURPOSE, &row.token);
            let write = async |sealed: String| {
                sqlx::query!(
                    "UPDATE publish_accounts SET token = $3 WHERE id = $1 AND token = $2",
                    row.id,
                    row.token,
                    sealed
                )
                .execute(pool)
                .await
            };
            done.accounts +=
                settle(&mut done.failed, "publish_accounts", row.id, sealed, write).await?;
            Ok(())
        },
    )
    .await
}

/// The headers of `args` with every sensitive value re-sealed; `None` when none needed it.
fn reseal_headers(keyring: &Keyring, args: &Value) -> Result<Option<Value>, SecretError> {
    let Some(Value::Object(headers)) = args.get("headers") else {
        return Ok(None);
    };
    let mut changed = headers.clone();
    let mut any = false;
    for (name, value) in changed.iter_mut() {
        let Value::String(stored) = value else {
            continue;
        };
        if !http_request::is_sensitive_header(name) {
            continue;
        }
        if let Some(sealed) = reseal_value(keyring, http_request::HEADER_PURPOSE, stored)? {
            *value = Value::String(sealed);
            any = true;
        }
    }
    if !any {
        return Ok(None);
    }
    let mut args = args.clone();
    args["headers"] = Value::Object(changed);
    Ok(Some(args))
}

async fn reseal_jobs(
    pool: &PgPool,
    keyring: &Keyring,
    batch: i64,
    done: &mut Resealed,
) -> Result<(), sqlx::Error> {
    walk(
        done,
        Uuid::nil(),
        async |_, after| {
            sqlx::query!(
                r#"SELECT id, args FROM jobs
                   WHERE kind = $1 AND state <> 'succeeded' AND args ? 'headers' AND id > $2
                   ORDER BY id LIMIT $3"#,
                HttpRequest::KIND,
                after,
                batch
            )
            .fetch_all(pool)
            .await
        },
        |row| row.id,
        async |done, row| {
            let resealed = reseal_headers(keyring, &row.args);
            done.jobs += settle(&mut done.failed, "jobs", row.id, resealed, async |args| {
                sqlx::query!(
                    "UPDATE jobs SET args = $3 WHERE id = $1 AND args = $2",
                    row.id,
                    row.args,
                    args
                )
                .execute(pool)
                .await
            })
            .await?;
            Ok(())
        },
    )
    .await
}

#[cfg(test)]
mod tests;
