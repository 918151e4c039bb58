//! Tests of signals: the state machine, filters, and the CSV export's quoting and guard.

use super::*;

#[test]
fn the_state_machine_allows_only_forward_moves() {
    use SignalState::*;
    assert_eq!(New.next(), &[Classified, Discarded, Expired]);
    assert!(Classified.next().contains(&Scored));
    assert!(Scored.next().contains(&Alerted));
    for terminal in [Alerted, Discarded, Expired] {
        assert!(terminal.next().is_empty());
    }
    assert!(!New.next().contains(&Scored), "no skipping classification");
    assert!(!Scored.next().contains(&New), "no going back");
    assert!(
        Classified.next().contains(&Alerted),
        "an alert on the verdict itself"
    );
    assert_eq!(Alerted.previous(), vec![Classified, Scored]);
    assert_eq!(Discarded.previous(), vec![New, Classified, Scored]);
    for s in SignalState::ALL {
        assert_eq!(SignalState::parse(s.as_str()), Some(s));
    }
}

#[test]
fn csv_rows_quote_what_needs_quoting() {
    let s = Signal {
        id: Uuid::nil(),
        source_id: Uuid::nil(),
        external_id: None,
        url: None,
        title: "a, \"b\"".into(),
        body_html: String::new(),
        body_text: "line1\nline2".into(),
        author: None,
        language: None,
        published_at: None,
        content_hash: String::new(),
        duplicate_of: None,
        state: SignalState::New,
        discard_reason: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        deleted_at: None,
    };
    let row = String::from_utf8(csv_rows(&[s])).unwrap();
    assert!(row.contains("\"a, \"\"b\"\"\""), "{row}");
    assert!(row.contains("\"line1\nline2\""), "{row}");
}

#[test]
fn filters_are_checked() {
    let ok = Filter {
        limit: 10,
        ..Default::default()
    };
    assert!(ok.validate().is_ok());
    assert_eq!(
        Filter {
            limit: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .path,
        "limit"
    );
    let now = Utc::now();
    let bad = Filter {
        limit: 10,
        since: Some(now),
        until: Some(now),
        ..Default::default()
    };
    assert_eq!(bad.validate().unwrap_err().path, "until");
}

/// Scraped text is the attacker's: a title, an author or a reason that starts a formula
/// must reach a spreadsheet as text, in every text cell of the CSV export.
#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_csv_export_guards_every_text_cell_against_formulas(pool: PgPool) {
    use crate::sources::{self, NewSource, feed::RawItem, ingest};

    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let push = NewSource::try_from(serde_json::json!({"kind": "push"})).unwrap();
    let source = sources::create(&mut conn, tenant, &Actor::default(), push)
        .await
        .unwrap()
        .id;
    let formulas = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+1 555 0100 call now",
        "-2+3 is one",
        "@SUM(A1:A9) twice",
    ];
    let items = formulas
        .iter()
        .enumerate()
        .map(|(i, f)| RawItem {
            title: Some((*f).to_owned()),
            content: Some(format!("{f} and words of item number {i}")),
            author: Some((*f).to_owned()),
            ..RawItem::default()
        })
        .chain((0..2).map(|i| RawItem {
            title: Some(format!("plain title {i}")),
            content: Some(format!("a plain body for the plain item {i}")),
            ..RawItem::default()
        }))
        .collect();
    let gates = ingest::Gates::new(QualitySettings {
        min_length: 0,
        max_link_density: 1.0,
        simhash_threshold: 0,
        ..QualitySettings::default()
    });
    let report = ingest::store(
        &mut conn,
        tenant,
        source,
        &gates,
        ingest::prepare_all(items, None),
    )
    .await
    .unwrap();
    assert_eq!(report.inserted, 6, "{report:?}");
    // Ingest collapses whitespace, so a leading tab or carriage return can only come from
    // elsewhere (an older ingest, a manual fix); the export guards them all the same.
    let plain: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM signals WHERE title LIKE 'plain title %' ORDER BY title",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (id, title) in plain.iter().zip(["\tx tab", "\rx carriage return"]) {
        sqlx::query("UPDATE signals SET title = $2, author = $2 WHERE id = $1")
            .bind(id)
            .bind(title)
            .execute(&pool)
            .await
            .unwrap();
    }
    transition(
        &mut conn,
        tenant,
        &Actor::default(),
        plain[0],
        SignalState::Discarded,
        Some("=cmd|' /C calc'!A0"),
    )
    .await
    .unwrap();

    let filter = Filter {
        limit: 2,
        ..Filter::default()
    };
    let chunks: Vec<_> =
        futures::StreamExt::collect::<Vec<_>>(export(pool, tenant, filter, ExportFormat::Csv))
            .await;
    let bytes: Vec<u8> = chunks.into_iter().flat_map(Result::unwrap).collect();
    let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.iter().collect::<Vec<_>>(), CSV_HEADER);
    let column = |name: &str| CSV_HEADER.iter().position(|c| *c == name).unwrap();
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let mut titles: Vec<&str> = rows.iter().map(|r| &r[column("title")]).collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        [
            "'\tx tab",
            "'\rx carriage return",
            "'+1 555 0100 call now",
            "'-2+3 is one",
            "'=HYPERLINK(\"http://x\",\"y\")",
            "'@SUM(A1:A9) twice",
        ]
    );
    for text in [
        "language",
        "author",
        "url",
        "title",
        "body_text",
        "discard_reason",
    ] {
        for row in &rows {
            let cell = &row[column(text)];
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{text} {cell:?} is not guarded"
            );
        }
    }
    assert!(
        rows.iter()
            .any(|r| &r[column("discard_reason")] == "'=cmd|' /C calc'!A0"),
        "{rows:?}"
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r[column("author")].starts_with('\''))
            .count(),
        6
    );
}
