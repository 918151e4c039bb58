//! The connection pool and the one migration path (the app's migrations, which include the
//! queue: demandflow does not use apalis-postgres' tables).

use std::time::Duration;

use sqlx::{
    ConnectOptions, Connection, PgConnection, PgPool, migrate::Migrator, postgres::PgPoolOptions,
};

use crate::config::DatabaseSettings;

/// The pool type the binaries share.
pub use sqlx::PgPool as Pool;

/// Every migration under `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A pool for `settings`; connects lazily, so a process can start before the database.
pub fn pool(settings: &DatabaseSettings) -> PgPool {
    PgPoolOptions::new()
        .max_connections(settings.pool_size)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(settings.connect_options())
}

/// Creates the database named in `settings` when it does not exist yet, connecting to the
/// server's `postgres` database to do so. Returns whether it was created.
pub async fn ensure_database(settings: &DatabaseSettings) -> Result<bool, sqlx::Error> {
    let options = settings.connect_options();
    let name = options.get_database().unwrap_or("postgres").to_owned();
    if PgConnection::connect_with(&options).await.is_ok() {
        return Ok(false);
    }
    let mut admin = options.database("postgres").connect().await?;
    let exists: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS "exists!""#,
        name
    )
    .fetch_one(&mut admin)
    .await?;
    if exists {
        return Ok(false);
    }
    // CREATE DATABASE takes no bind parameters; quote_ident makes the name safe.
    let quoted: String = sqlx::query_scalar!(r#"SELECT quote_ident($1) AS "q!""#, name)
        .fetch_one(&mut admin)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
        .execute(&mut admin)
        .await?;
    Ok(true)
}

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Whether the database is reachable and every embedded migration has been applied.
pub async fn is_ready(pool: &PgPool) -> bool {
    let applied: Result<Vec<i64>, sqlx::Error> =
        sqlx::query_scalar!("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await;
    match applied {
        Ok(applied) => MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .all(|m| applied.contains(&m.version)),
        Err(_) => false,
    }
}
