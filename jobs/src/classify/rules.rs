//! A ruleset version's rules: the document a tenant writes, checked as a whole (every problem
//! named by its path), compiled once into one Aho-Corasick automaton, and the keyword score it
//! gives a text.
//!
//! Matching works on words: the text and every term are lower-cased and split on anything that
//! is not a letter or a digit, then joined with single spaces, so `Heat-Pump!` matches the term
//! `heat pump` and `pumps` does not match `pump`. Each term counts once however often it occurs.
//!
//! It never touches the database and never calls out; it is pure and cheap to test.

use std::collections::{BTreeMap, HashSet};

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::FieldError;

/// Most categories in a ruleset.
pub const MAX_CATEGORIES: usize = 50;
/// Most positive or negative terms in a ruleset.
pub const MAX_TERMS: usize = 5000;
/// Longest term, in characters.
pub const MAX_TERM_CHARS: usize = 200;
/// Longest category name.
pub const MAX_CATEGORY_CHARS: usize = 50;
/// Longest extra instruction for the LLM.
pub const MAX_INSTRUCTIONS_CHARS: usize = 2000;
/// Most reasons a keyword verdict lists.
const MAX_KEYWORD_REASONS: usize = 20;

/// One weighted term or phrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// A word or a phrase.
    pub term: String,
    /// Points it adds (a negative term subtracts them), 1 to 100.
    pub weight: i32,
    /// The category it is evidence for (one of `categories`); positive terms only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// Where the keyword score decides on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// A score at or above this is relevant (0 to 100).
    pub relevant: i32,
    /// A score at or below this is not relevant (0 to 100, below `relevant`). Scores in
    /// between are undecided: they go to the LLM when one is configured.
    pub irrelevant: i32,
}

/// A ruleset version's rules, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The categories a signal may be put in (1 to 50 names).
    pub categories: Vec<String>,
    /// Terms that add to the score (1 to 5000).
    pub terms: Vec<Term>,
    /// Terms that subtract from it (up to 5000).
    #[serde(default)]
    pub negative: Vec<Term>,
    /// Where keywords decide alone.
    pub thresholds: Thresholds,
    /// Extra instructions for the LLM (up to 2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// Lower-cased words joined by single spaces: the form both texts and terms are matched in.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

impl Rules {
    /// Parses and checks a rules document, naming every problem (`terms[3].weight`).
    pub fn parse(value: &Value) -> Result<Rules, Vec<FieldError>> {
        let rules: Rules = crate::kinds::from_value(value.clone()).map_err(|e| vec![e])?;
        let mut errors = vec![];
        let mut push = |path: String, message: String| errors.push(FieldError::new(path, message));

        if rules.categories.is_empty() || rules.categories.len() > MAX_CATEGORIES {
            push(
                "categories".into(),
                format!("expected 1 to {MAX_CATEGORIES} categories"),
            );
        }
        let mut seen = HashSet::new();
        for (i, c) in rules.categories.iter().enumerate() {
            if c.trim().is_empty() || c.chars().count() > MAX_CATEGORY_CHARS || !printable(c) {
                push(
                    format!("categories[{i}]"),
                    format!("expected 1 to {MAX_CATEGORY_CHARS} printable characters"),
                );
            } else if !seen.insert(c.as_str()) {
                push(format!("categories[{i}]"), format!("`{c}` is listed twice"));
            }
        }
        if rules.terms.is_empty() || rules.terms.len() > MAX_TERMS {
            push("terms".into(), format!("expected 1 to {MAX_TERMS} terms"));
        }
        if rules.negative.len() > MAX_TERMS {
            push(
                "negative".into(),
                format!("expected at most {MAX_TERMS} terms"),
            );
        }
        let mut terms_seen: BTreeMap<String, String> = BTreeMap::new();
        for (list, terms) in [("terms", &rules.terms), ("negative", &rules.negative)] {
            for (i, t) in terms.iter().enumerate() {
                let path = format!("{list}[{i}]");
                let norm = normalize(&t.term);
                if t.term.chars().count() > MAX_TERM_CHARS || !printable(&t.term) {
                    push(
                        format!("{path}.term"),
                        format!("expected at most {MAX_TERM_CHARS} printable characters"),
                    );
                } else if norm.is_empty() {
                    push(
                        format!("{path}.term"),
                        "expected at least one letter or digit".into(),
                    );
                } else if let Some(first) = terms_seen.get(&norm) {
                    push(
                        format!("{path}.term"),
                        format!("`{norm}` is already at {first}"),
                    );
                } else {
                    terms_seen.insert(norm, path.clone());
                }
                if !(1..=100).contains(&t.weight) {
                    push(format!("{path}.weight"), "expected 1 to 100".into());
                }
                match (&t.category, list) {
                    (Some(_), "negative") => push(
                        format!("{path}.category"),
                        "negative terms have no category".into(),
                    ),
                    (Some(c), _) if !rules.categories.contains(c) => push(
                        format!("{path}.category"),
                        format!("`{c}` is not one of `categories`"),
                    ),
                    _ => {}
                }
            }
        }
        let th = rules.thresholds;
        if !(0..=100).contains(&th.relevant) {
            push("thresholds.relevant".into(), "expected 0 to 100".into());
        }
        if !(0..=100).contains(&th.irrelevant) {
            push("thresholds.irrelevant".into(), "expected 0 to 100".into());
        } else if th.irrelevant >= th.relevant {
            push(
                "thresholds.irrelevant".into(),
                "expected less than `thresholds.relevant`".into(),
            );
        }
        if let Some(text) = &rules.instructions
            && (text.chars().count() > MAX_INSTRUCTIONS_CHARS
                || text
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\t')))
        {
            push(
                "instructions".into(),
                format!(
                    "expected at most {MAX_INSTRUCTIONS_CHARS} characters, without control \
                     characters other than newlines and tabs"
                ),
            );
        }
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }
}

/// What a matched pattern means.
#[derive(Debug, Clone)]
struct Pattern {
    /// As the tenant wrote it, for reasons.
    term: String,
    /// Positive for terms, negative for negative terms.
    weight: i32,
    /// Index into `categories`.
    category: Option<usize>,
}

/// Rules compiled into one automaton over every term, positive and negative.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The rules.
    pub rules: Rules,
    matcher: AhoCorasick,
    patterns: Vec<Pattern>,
}

/// The keyword verdict on one text.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordScore {
    /// `positive - negative`, clamped to 0..=100.
    pub score: i32,
    /// The category with the most positive weight matched (the first listed on a tie).
    pub category: Option<String>,
    /// `Some(relevant)` when a threshold decides; `None` when the score is in between.
    pub decided: Option<bool>,
    /// 0 to 1: how sure the keywords are (see [`Compiled::score`]).
    pub confidence: f64,
    /// The terms that matched, with their points.
    pub reasons: Vec<String>,
}

impl Compiled {
    /// Compiles checked rules.
    pub fn new(rules: Rules) -> Result<Self, String> {
        let mut patterns = Vec::with_capacity(rules.terms.len() + rules.negative.len());
        let mut texts = Vec::with_capacity(patterns.capacity());
        for t in &rules.terms {
            texts.push(normalize(&t.term));
            patterns.push(Pattern {
                term: t.term.clone(),
                weight: t.weight,
                category: t
                    .category
                    .as_ref()
                    .and_then(|c| rules.categories.iter().position(|x| x == c)),
            });
        }
        for t in &rules.negative {
            texts.push(normalize(&t.term));
            patterns.push(Pattern {
                term: t.term.clone(),
                weight: -t.weight,
                category: None,
            });
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
            .map_err(|e| format!("the terms cannot be compiled: {e}"))?;
        Ok(Self {
            rules,
            matcher,
            patterns,
        })
    }

    /// Scores a title and body.
    ///
    /// The score is the sum of the weights of the positive terms found minus those of the
    /// negative ones, clamped to 0..=100. At or above `thresholds.relevant` the verdict is
    /// relevant; at or below `thresholds.irrelevant` it is not; in between it is undecided.
    /// Confidence: a decided verdict is 0.7 plus up to 0.3 for how far past its threshold the
    /// score is; an undecided one is 0.5.
    pub fn score(&self, title: &str, body: &str) -> KeywordScore {
        let mut text = normalize(title);
        let body = normalize(body);
        if !body.is_empty() {
            if !text.is_empty() {
                // a boundary no phrase spans: titles and bodies are separate sentences
                text.push_str(" \u{1} ");
            }
            text.push_str(&body);
        }
        let bytes = text.as_bytes();
        let mut hit = vec![false; self.patterns.len()];
        for m in self.matcher.find_overlapping_iter(&text) {
            let (s, e) = (m.start(), m.end());
            let starts_word = s == 0 || bytes[s - 1] == b' ';
            let ends_word = e == bytes.len() || bytes[e] == b' ';
            if starts_word && ends_word {
                hit[m.pattern().as_usize()] = true;
            }
        }
        let (mut positive, mut negative) = (0i32, 0i32);
        let mut by_category = vec![0i32; self.rules.categories.len()];
        let mut reasons = vec![];
        for (p, _) in self.patterns.iter().zip(&hit).filter(|(_, h)| **h) {
            if p.weight > 0 {
                positive += p.weight;
                if let Some(c) = p.category {
                    by_category[c] += p.weight;
                }
            } else {
                negative -= p.weight;
            }
            if reasons.len() < MAX_KEYWORD_REASONS {
                reasons.push(format!("`{}` {:+}", p.term, p.weight));
            }
        }
        let score = (positive - negative).clamp(0, 100);
        let category = by_category
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0)
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| self.rules.categories[i].clone());
        let th = self.rules.thresholds;
        let (decided, confidence) = if score >= th.relevant {
            let room = (100 - th.relevant).max(1) as f64;
            (
                Some(true),
                0.7 + 0.3 * ((score - th.relevant) as f64 / room),
            )
        } else if score <= th.irrelevant {
            let room = th.irrelevant.max(1) as f64;
            (
                Some(false),
                0.7 + 0.3 * ((th.irrelevant - score) as f64 / room),
            )
        } else {
            (None, 0.5)
        };
        KeywordScore {
            score,
            category,
            decided,
            confidence: confidence.clamp(0.0, 1.0),
            reasons,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Value {
        json!({
            "categories": ["plumbing", "solar"],
            "terms": [
                {"term": "plumber", "weight": 30, "category": "plumbing"},
                {"term": "need a plumber", "weight": 40, "category": "plumbing"},
                {"term": "Heat-Pump", "weight": 25, "category": "solar"},
                {"term": "solar", "weight": 20, "category": "solar"},
                {"term": "quote", "weight": 10}
            ],
            "negative": [{"term": "hiring", "weight": 50}],
            "thresholds": {"relevant": 60, "irrelevant": 20}
        })
    }

    fn compiled() -> Compiled {
        Compiled::new(Rules::parse(&rules()).unwrap()).unwrap()
    }

    #[test]
    fn phrases_and_overlapping_terms_each_count_once_on_word_boundaries() {
        let c = compiled();
        let s = c.score(
            "Need a PLUMBER, fast",
            "Our plumber quit. plumbers? Quote please",
        );
        // plumber (30) + need a plumber (40) + quote (10); "plumbers" is another word
        assert_eq!(s.score, 80);
        assert_eq!(s.decided, Some(true));
        assert_eq!(s.category.as_deref(), Some("plumbing"));
        assert!(s.confidence > 0.7 && s.confidence <= 1.0);
        assert_eq!(s.reasons.len(), 3, "{:?}", s.reasons);
    }

    #[test]
    fn punctuation_and_case_do_not_hide_a_phrase() {
        let c = compiled();
        let s = c.score("", "thinking about a heat pump + solar");
        assert_eq!(s.score, 45);
        assert_eq!(s.decided, None, "between the thresholds");
        assert_eq!(s.confidence, 0.5);
        assert_eq!(s.category.as_deref(), Some("solar"));
    }

    #[test]
    fn negative_terms_subtract_and_scores_stay_in_range() {
        let c = compiled();
        let s = c.score("We are hiring a plumber", "");
        assert_eq!(s.score, 0);
        assert_eq!(s.decided, Some(false));
        assert_eq!(c.score("", "nothing here").score, 0);
    }

    #[test]
    fn a_phrase_does_not_span_the_title_and_the_body() {
        let c = compiled();
        assert_eq!(c.score("I need a", "plumber").score, 30);
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let errors = Rules::parse(&json!({
            "categories": ["a", "a", ""],
            "terms": [
                {"term": "x", "weight": 0, "category": "nope"},
                {"term": "X!", "weight": 5},
                {"term": "---", "weight": 5}
            ],
            "negative": [{"term": "y", "weight": 5, "category": "a"}],
            "thresholds": {"relevant": 10, "irrelevant": 10}
        }))
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "categories[1]",
                "categories[2]",
                "terms[0].weight",
                "terms[0].category",
                "terms[1].term",
                "terms[2].term",
                "negative[0].category",
                "thresholds.irrelevant"
            ]
        );
        let e = Rules::parse(&json!({"categories": ["a"], "terms": [], "thresholds": {"relevant": 1, "irrelevant": 0}, "extra": 1}))
            .unwrap_err();
        assert!(e[0].message.contains("unknown field"), "{e:?}");
        let e = Rules::parse(&json!({"categories": ["a"], "terms": [{"term": "t", "weight": "x"}], "thresholds": {"relevant": 1, "irrelevant": 0}}))
            .unwrap_err();
        assert_eq!(e[0].path, "terms[0].weight");
        // Postgres cannot store NUL in text or jsonb: refused as input, never a 500
        let e = Rules::parse(
            &json!({"categories": ["a"], "terms": [{"term": "t\u{0}", "weight": 1}],
                                     "thresholds": {"relevant": 1, "irrelevant": 0},
                                     "instructions": "be brief\u{0}"}),
        )
        .unwrap_err();
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["terms[0].term", "instructions"]);
    }

    #[test]
    fn normalize_is_idempotent() {
        for s in ["Heat-Pump!", "  a\tb  ", "Ünïcödé ÉTÉ", "", "--"] {
            let once = normalize(s);
            assert_eq!(normalize(&once), once);
        }
        assert_eq!(normalize("Heat-Pump!"), "heat pump");
    }
}
