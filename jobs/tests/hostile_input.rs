//! Property tests over every parser that takes bytes from outside: markup to text, URL
//! normalisation, feed parsing, the workflow condition and template language, and the
//! storable-text guard. Each property holds for any input, not only the ones we thought of.
//!
//! `PROPTEST_CASES` sets how many inputs each property tries (256 by default; `scripts/fuzz`
//! runs them at scale). A failing input is shrunk and saved in
//! `tests/hostile_input.proptest-regressions`, which every later run tries first.

use std::collections::HashMap;

use jobs::{
    sources::{SourceKind, feed, ingest},
    text,
    workflows::expr::{self, Condition, Scope},
};
use proptest::{prelude::*, test_runner::FileFailurePersistence};
use serde_json::{Value, json};
use url::Url;

/// Strings that look like markup more often than random text does.
fn markup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("</".to_owned()),
        Just("<style>".to_owned()),
        Just("</STYLE>".to_owned()),
        Just("<script>".to_owned()),
        Just("</script".to_owned()),
        Just("<p>".to_owned()),
        Just("<!--".to_owned()),
        Just("&#0;".to_owned()),
        Just("&amp;".to_owned()),
        Just("&#x1F600;".to_owned()),
        Just("&".to_owned()),
        Just("\0".to_owned()),
        "[a-z ]{0,6}".prop_map(|s| s),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|v| v.concat())
}

/// JSON documents with arbitrary strings (NUL included) and keys, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
        "\0{0,2}[a-z]{0,3}\0?".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/hostile_input.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn markup_to_text_never_panics_and_leaves_no_nul_or_tags(html in markup()) {
        let out = text::html_to_text(&html);
        prop_assert!(!out.contains('\0'));
        prop_assert!(!out.contains("<script>") && !out.contains("<style>"));
        prop_assert_eq!(out.trim(), out.as_str());
        prop_assert!(!out.contains("  "));
    }

    #[test]
    fn storable_strings_and_documents_hold_no_nul(s in ".*", doc in json_value()) {
        prop_assert!(!text::storable(&s).contains('\0'));
        let clean = text::storable_json(doc.clone());
        prop_assert!(!clean.to_string().contains("\\u0000"));
        prop_assert!(text::find_nul(&clean).is_none());
        // Nothing but NULs changes.
        if text::find_nul(&doc).is_none() {
            prop_assert_eq!(clean, doc);
        }
    }

    #[test]
    fn normalised_urls_are_http_without_fragments_and_stable(raw in "(https?://|//|/|)[a-zA-Z0-9.:@%/?&=#_~+-]{0,40}") {
        let base = Url::parse("https://example.com/dir/page").unwrap();
        if let Some(url) = ingest::normalize_url(&raw, Some(&base)) {
            let parsed = Url::parse(&url).unwrap();
            prop_assert!(matches!(parsed.scheme(), "http" | "https"));
            prop_assert!(parsed.fragment().is_none());
            prop_assert!(!url.contains("utm_"));
            prop_assert_eq!(ingest::normalize_url(&url, None), Some(url.clone()));
        }
    }

    #[test]
    fn any_bytes_parse_as_a_feed_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let base = Url::parse("https://example.com/feed").unwrap();
        for kind in [SourceKind::Rss, SourceKind::RedditListing] {
            let _ = feed::parse(kind, &bytes, Some("application/xml"), &base);
        }
    }

    #[test]
    fn xml_shaped_feeds_never_panic(body in markup()) {
        let base = Url::parse("https://example.com/feed").unwrap();
        let xml = format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>{body}</title><description>{body}</description></item></channel></rss>");
        if let Ok(items) = feed::parse(SourceKind::Rss, xml.as_bytes(), Some("application/rss+xml"), &base) {
            for item in ingest::prepare_all(items, Some(&base)) {
                // Everything ingest would store is storable text.
                for field in [&item.title, &item.body_html, &item.body_text] {
                    prop_assert!(!field.contains('\0'), "{:?}", field);
                }
                prop_assert!(!item.body_html.to_ascii_lowercase().contains("<script"));
            }
        }
    }

    #[test]
    fn conditions_parse_or_refuse_and_evaluate_without_panicking(
        src in "(input|item|steps\\.[a-z]{1,3}\\.output)(\\.[a-z]{1,3}){0,3} ?(==|!=|>=|<=|>|<| in | contains )? ?(\"[a-z]{0,3}\"|[0-9]{1,3}|true|null|\\[\\])?( (and|or) )?.{0,8}",
        input in json_value(),
    ) {
        if let Ok(cond) = Condition::parse(&src) {
            let steps = HashMap::new();
            let scope = Scope { input: &input, steps: &steps, item: Some(&input) };
            let first = cond.eval(&scope);
            prop_assert_eq!(cond.eval(&scope), first);
        }
    }

    #[test]
    fn templates_render_from_any_input_without_panicking(
        tpl in "[a-z ]{0,5}(\\{\\{ ?(input|item)(\\.[a-z]{1,2}){0,2} ?\\}\\}[a-z ]{0,3}){0,4}",
        input in json_value(),
    ) {
        let template = json!({"a": tpl, "b": [tpl]});
        if expr::template_paths(&template).is_ok() {
            let steps = HashMap::new();
            let scope = Scope { input: &input, steps: &steps, item: Some(&input) };
            let _ = expr::render(&template, &scope, &mut expr::Budget::new(usize::MAX));
        }
    }

    #[test]
    fn a_budget_only_cuts_a_render_never_changes_it(
        tpl in "[a-z ]{0,5}(\\{\\{ ?(input|item)(\\.[a-z]{1,2}){0,2} ?\\}\\}[a-z ]{0,3}){0,4}",
        input in json_value(),
        limit in 0usize..4096,
    ) {
        let template = json!({"a": tpl, "b": [tpl, "{{ input }}"]});
        if expr::template_paths(&template).is_ok() {
            let steps = HashMap::new();
            let scope = Scope { input: &input, steps: &steps, item: Some(&input) };
            let mut unbounded = expr::Budget::new(usize::MAX);
            let whole = expr::render(&template, &scope, &mut unbounded).unwrap();
            let mut budget = expr::Budget::new(limit);
            let cut = expr::render(&template, &scope, &mut budget);
            if unbounded.spent() <= limit {
                prop_assert_eq!(cut, Ok(whole));
                prop_assert_eq!(budget.spent(), unbounded.spent());
            } else {
                prop_assert_eq!(cut, Err(expr::OverBudget { limit }));
            }
        }
    }
}
