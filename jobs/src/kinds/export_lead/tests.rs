//! `export_lead` against a real Postgres and wiremock partners.
