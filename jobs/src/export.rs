//! Streamed exports, the same for every listing that offers one (signals, leads).
//!
//! - [`paged`]: every row of a keyset listing, read a page at a time as the consumer pulls, so
//!   memory stays flat and no connection is held between pages.
//! - [`Csv`]: the one CSV writer (RFC 4180 quoting by the `csv` crate). Its only way to write
//!   free text is [`Csv::text`], which guards the cell against formula injection ([`guard`]);
//!   ids, times, numbers and fixed names cannot start a formula and are written as they are.
//!   So no export can forget the guard on a title, an author or an email address.

use std::{borrow::Cow, future::Future, pin::Pin};

use chrono::{DateTime, Utc};
use futures::Stream;
use uuid::Uuid;

use crate::DomainError;

/// A stream of export chunks: the header (if any), then one chunk per page.
pub type ExportStream = Pin<Box<dyn Stream<Item = Result<Vec<u8>, DomainError>> + Send>>;

/// A cell a spreadsheet will not run: text starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'` (OWASP's advice against CSV injection).
pub fn guard(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// CSV being written in memory, a cell at a time; rows end with [`Csv::end_row`].
pub struct Csv {
    w: csv::Writer<Vec<u8>>,
}

impl Default for Csv {
    fn default() -> Self {
        Self::new()
    }
}

impl Csv {
    /// An empty document.
    pub fn new() -> Self {
        Self {
            w: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new()),
        }
    }

    /// A header row of column names.
    pub fn header(names: &[&str]) -> Vec<u8> {
        let mut csv = Self::new();
        for name in names {
            csv.field(name);
        }
        csv.end_row();
        csv.finish()
    }

    // Writing to memory cannot fail, and every row of one export has the same cells.
    fn field(&mut self, s: &str) {
        let _ = self.w.write_field(s);
    }

    fn empty(&mut self) -> &mut Self {
        self.field("");
        self
    }

    /// Free text (a title, an author, an email address), guarded against formula injection.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.field(&guard(s));
        self
    }

    /// Free text or an empty cell.
    pub fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        self.text(s.unwrap_or_default())
    }

    /// A fixed name (a state, a status): one of the code's own words, never the caller's.
    pub fn name(&mut self, s: &'static str) -> &mut Self {
        self.field(s);
        self
    }

    /// An id.
    pub fn id(&mut self, id: Uuid) -> &mut Self {
        self.field(id.as_hyphenated().encode_lower(&mut Uuid::encode_buffer()));
        self
    }

    /// An id or an empty cell.
    pub fn opt_id(&mut self, id: Option<Uuid>) -> &mut Self {
        match id {
            Some(id) => self.id(id),
            None => self.empty(),
        }
    }

    /// An instant, in RFC 3339.
    pub fn time(&mut self, t: DateTime<Utc>) -> &mut Self {
        self.field(&t.to_rfc3339());
        self
    }

    /// An instant or an empty cell.
    pub fn opt_time(&mut self, t: Option<DateTime<Utc>>) -> &mut Self {
        match t {
            Some(t) => self.time(t),
            None => self.empty(),
        }
    }

    /// A whole number.
    pub fn number(&mut self, n: i64) -> &mut Self {
        self.field(&n.to_string());
        self
    }

    /// Ends the current row.
    pub fn end_row(&mut self) {
        let _ = self.w.write_record(None::<&[u8]>);
    }

    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.w.into_inner().unwrap_or_default()
    }
}

/// Streams every row of a keyset listing, newest first: `first` (a header, if any), then one
/// chunk per page, each page read with `fetch(before)` (the id of the previous page's last row,
/// starting at `start`) only when the consumer pulls, and written with `write`. A page shorter
/// than `page_size` is the last; a failed read ends the stream with its error.
pub fn paged<T, F, Fut, W>(
    first: Option<Vec<u8>>,
    start: Option<Uuid>,
    page_size: i64,
    fetch: F,
    id_of: fn(&T) -> Uuid,
    write: W,
) -> ExportStream
where
    T: Send + 'static,
    F: FnMut(Option<Uuid>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<T>, DomainError>> + Send,
    W: Fn(&[T]) -> Vec<u8> + Send + 'static,
{
    struct St<F, W> {
        first: Option<Vec<u8>>,
        before: Option<Uuid>,
        done: bool,
        fetch: F,
        write: W,
    }
    let st = St {
        first,
        before: start,
        done: false,
        fetch,
        write,
    };
    Box::pin(futures::stream::unfold(st, move |mut st| async move {
        if let Some(first) = st.first.take() {
            return Some((Ok(first), st));
        }
        if st.done {
            return None;
        }
        match (st.fetch)(st.before).await {
            Err(e) => {
                st.done = true;
                Some((Err(e), st))
            }
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                st.done = (rows.len() as i64) < page_size;
                st.before = rows.last().map(id_of);
                let chunk = (st.write)(&rows);
                Some((Ok(chunk), st))
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[test]
    fn cells_that_start_a_formula_are_guarded() {
        for (cell, want) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@x", "'@x"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("ok", "ok"),
            ("", ""),
        ] {
            assert_eq!(guard(cell), want);
        }
    }

    #[test]
    fn rows_quote_what_needs_quoting_and_guard_only_text() {
        let id = Uuid::now_v7();
        let t = Utc::now();
        let mut csv = Csv::new();
        csv.id(id)
            .name("new")
            .number(-3)
            .text("a, \"b\"")
            .text("line1\nline2")
            .text("=HYPERLINK(\"http://x\",\"y\")")
            .opt_text(None)
            .opt_id(None)
            .time(t)
            .opt_time(None)
            .end_row();
        let row = String::from_utf8(csv.finish()).unwrap();
        assert_eq!(
            row,
            format!(
                "{id},new,-3,\"a, \"\"b\"\"\",\"line1\nline2\",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",,,{},\n",
                t.to_rfc3339()
            )
        );
        assert_eq!(Csv::header(&["id", "title"]), b"id,title\n");
    }

    #[tokio::test]
    async fn pages_are_read_as_pulled_until_a_short_one() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let source = ids.clone();
        let stream = paged(
            Some(b"h\n".to_vec()),
            None,
            2,
            move |before: Option<Uuid>| {
                let rows: Vec<Uuid> = source
                    .iter()
                    .rev()
                    .filter(|id| before.is_none_or(|b| **id < b))
                    .take(2)
                    .copied()
                    .collect();
                async move { Ok(rows) }
            },
            |id| *id,
            |rows: &[Uuid]| rows.iter().map(|_| b'.').collect(),
        );
        let chunks: Vec<Vec<u8>> = stream.map(Result::unwrap).collect().await;
        assert_eq!(
            chunks,
            vec![
                b"h\n".to_vec(),
                b"..".to_vec(),
                b"..".to_vec(),
                b".".to_vec()
            ]
        );
    }
}
