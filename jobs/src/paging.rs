//! Keyset paging, the same for every listing: a page size between 1 and [`MAX_PAGE`] and the
//! cursor of the next page (the id of the last row shown; rows are listed newest first).

use uuid::Uuid;

use crate::FieldError;

/// The largest page a listing answers.
pub const MAX_PAGE: i64 = 500;

/// The page size when the caller gives none.
pub const DEFAULT_PAGE: i64 = 50;

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<Uuid>,
}

impl<T> Page<T> {
    /// A page from rows fetched with `LIMIT limit + 1`: the extra row, if any, is dropped and
    /// the cursor is the id (by `id_of`) of the last row kept.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&id_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// Checks a requested page size (`limit`): 1 to [`MAX_PAGE`], or a [`FieldError`] at `limit`.
pub fn check_limit(limit: i64) -> Result<i64, FieldError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(FieldError::new(
            "limit",
            format!("expected 1 to {MAX_PAGE}"),
        ))
    }
}

/// A requested page size brought into 1 to [`MAX_PAGE`], for callers that clamp instead of refuse.
pub fn clamp_limit(limit: i64) -> i64 {
    limit.clamp(1, MAX_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_limit_rows_and_points_at_the_last_one_kept() {
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), 3, |id| *id);
        assert_eq!(page.items, ids[..3]);
        assert_eq!(page.next_cursor, Some(ids[2]));
        let last = Page::from_rows(ids[..2].to_vec(), 3, |id| *id);
        assert_eq!(last.items.len(), 2);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn limits_outside_one_to_max_page_are_refused_or_clamped() {
        assert_eq!(check_limit(1), Ok(1));
        assert_eq!(check_limit(MAX_PAGE), Ok(MAX_PAGE));
        assert_eq!(check_limit(0).unwrap_err().path, "limit");
        assert!(check_limit(MAX_PAGE + 1).is_err());
        assert_eq!(clamp_limit(-5), 1);
        assert_eq!(clamp_limit(10_000), MAX_PAGE);
    }
}
