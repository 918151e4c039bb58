//! Reading the query parameters of a listing, the same way in every operation module: absent
//! and sent empty both mean "no filter", and a value that does not parse is a [`FieldError`]
//! naming the parameter (the 422's `errors[].path`). It never touches the database and never
//! builds a response.

use chrono::{DateTime, NaiveDate, Utc};
use jobs::FieldError;
use uuid::Uuid;

/// `value` parsed by `parse`, or `None` when it is absent or empty.
pub(crate) fn optional<T>(
    value: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match value.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => parse(s).map(Some),
    }
}

/// The UUID parameter `name`; an error saying it expected `expected` (`"a UUID"`, `"a source
/// id (UUID)"`) when it is not one.
pub(crate) fn uuid_param(
    name: &str,
    expected: &str,
    value: Option<String>,
) -> Result<Option<Uuid>, FieldError> {
    optional(value, |s| {
        s.parse()
            .map_err(|_| FieldError::new(name, format!("expected {expected}")))
    })
}

/// A `cursor` parameter: the `next_cursor` of a previous page.
pub(crate) fn parse_cursor(cursor: Option<String>) -> Result<Option<Uuid>, FieldError> {
    uuid_param("cursor", "the `next_cursor` of a previous page", cursor)
}

/// The RFC 3339 time parameter `name`.
pub(crate) fn time_param(
    name: &str,
    value: Option<String>,
) -> Result<Option<DateTime<Utc>>, FieldError> {
    optional(value, |s| {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| FieldError::new(name, "expected an RFC 3339 time"))
    })
}

/// The day parameter `name` (`2026-11-30`).
pub(crate) fn day_param(
    name: &str,
    value: Option<String>,
) -> Result<Option<NaiveDate>, FieldError> {
    optional(value, |s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| FieldError::new(name, "expected a day, like 2026-11-30"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_empty_parameters_mean_no_filter_and_bad_ones_name_themselves() {
        assert_eq!(uuid_param("actor", "a UUID", None), Ok(None));
        assert_eq!(uuid_param("actor", "a UUID", Some(String::new())), Ok(None));
        let id = Uuid::now_v7();
        assert_eq!(parse_cursor(Some(id.to_string())), Ok(Some(id)));
        let bad = uuid_param("source_id", "a source id (UUID)", Some("x".into())).unwrap_err();
        assert_eq!(
            (bad.path.as_str(), bad.message.as_str()),
            ("source_id", "expected a source id (UUID)")
        );
        assert_eq!(
            parse_cursor(Some("nope".into())).unwrap_err().path,
            "cursor"
        );
        let at = time_param("since", Some("2024-05-01T10:00:00+02:00".into())).unwrap();
        assert_eq!(
            at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-01T08:00:00+00:00")
        );
        assert_eq!(
            time_param("until", Some("may".into())).unwrap_err().path,
            "until"
        );
    }
}
