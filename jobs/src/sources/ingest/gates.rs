//! The tenant's quality gates, compiled: minimum length, link density, repeated characters, a
//! blocklist and a language allow-list.

use aho_corasick::AhoCorasick;

use super::Prepared;
use crate::sources::signals::QualitySettings;

crate::named_enum! {
    /// Why a quality gate refused an item (its name is the signal's `discard_reason`).
    pub enum Rejection {
        /// Shorter than the minimum length.
        TooShort = "too_short",
        /// Too many links for its words.
        LinkDensity = "link_density",
        /// A character repeated more times in a row than allowed.
        RepeatedChars = "repeated_chars",
        /// A blocklisted phrase.
        Blocklist = "blocklist",
        /// A language outside the allow-list.
        Language = "language",
    }
}

/// A tenant's quality gates, compiled.
#[derive(Debug, Clone)]
pub struct Gates {
    settings: QualitySettings,
    blocklist: Option<AhoCorasick>,
}

impl Gates {
    /// Compiles `settings`.
    pub fn new(settings: QualitySettings) -> Self {
        let patterns: Vec<&String> = settings
            .blocklist
            .iter()
            .filter(|p| !p.is_empty())
            .collect();
        let blocklist = if patterns.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(patterns)
                .ok()
        };
        Self {
            settings,
            blocklist,
        }
    }

    /// The settings these gates apply.
    pub fn settings(&self) -> &QualitySettings {
        &self.settings
    }

    /// The first gate `p` fails, if any.
    pub fn check(&self, p: &Prepared) -> Option<Rejection> {
        let s = &self.settings;
        let length = p.title.chars().count() + p.body_text.chars().count();
        if length < s.min_length as usize {
            return Some(Rejection::TooShort);
        }
        if p.links > 0 && p.links as f64 / p.words.max(1) as f64 > f64::from(s.max_link_density) {
            return Some(Rejection::LinkDensity);
        }
        if longest_run(&p.title).max(longest_run(&p.body_text)) > s.max_repeated_chars as usize {
            return Some(Rejection::RepeatedChars);
        }
        if let Some(ac) = &self.blocklist
            && (ac.is_match(&p.title) || ac.is_match(&p.body_text))
        {
            return Some(Rejection::Blocklist);
        }
        if !s.languages.is_empty()
            && let Some(lang) = &p.language
            && !s.languages.contains(lang)
        {
            return Some(Rejection::Language);
        }
        None
    }
}

/// The longest run of one non-space character.
fn longest_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for c in s.chars() {
        if Some(c) == prev && !c.is_whitespace() {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ingest::{item, prepare};

    #[test]
    fn gates_refuse_by_reason() {
        let gates = Gates::new(QualitySettings {
            blocklist: vec!["Crypto Giveaway".into()],
            languages: vec!["eng".into()],
            ..QualitySettings::default()
        });
        let ok = prepare(
            item(
                "Need a roofer",
                "Our roof has been leaking since the storm last week; who do you recommend in Denver?",
            ),
            None,
        );
        assert_eq!(gates.check(&ok), None);
        let short = prepare(item("hi", "yo"), None);
        assert_eq!(gates.check(&short), Some(Rejection::TooShort));
        let links = prepare(
            item(
                "deals",
                r#"<a href="https://a.example">a</a> <a href="https://b.example">b</a> <a href="https://c.example">c</a> best https://d.example"#,
            ),
            None,
        );
        assert_eq!(gates.check(&links), Some(Rejection::LinkDensity));
        let shouty = prepare(
            item(
                "BUY NOW",
                "Amazing offer for everyone here!!!!!!!!!!!!!!!!!!!!",
            ),
            None,
        );
        assert_eq!(gates.check(&shouty), Some(Rejection::RepeatedChars));
        let blocked = prepare(
            item(
                "Big news",
                "Join the CRYPTO giveaway today and double your coins quickly",
            ),
            None,
        );
        assert_eq!(gates.check(&blocked), Some(Rejection::Blocklist));
        let german = prepare(
            item(
                "Klempner gesucht",
                "Wir suchen dringend einen zuverlässigen Klempner für unsere Wohnung in Berlin, der Wasserhahn tropft seit Wochen.",
            ),
            None,
        );
        assert_eq!(german.language.as_deref(), Some("deu"));
        assert_eq!(gates.check(&german), Some(Rejection::Language));
    }
}
