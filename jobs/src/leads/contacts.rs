//! Contacts found in a signal's plain text: email addresses and phone numbers, validated and
//! normalised so that the same person written two ways is one contact.
//!
//! - **Emails**: found by a conservative pattern, then checked: a local part of 1 to 64
//!   characters (no leading, trailing or doubled dot), a domain of labels of letters, digits
//!   and hyphens (none leading or trailing, at most 63 each, 253 in all) ending in an
//!   alphabetic top-level label. The whole address is lower-cased: RFC 5321 lets a server
//!   tell `Jane` from `jane`, but no mail service people use does, and two leads for one
//!   person would be the worse mistake. Refused as junk: the reserved names
//!   (`example.com|net|org` and their subdomains, `.example`, `.test`, `.invalid`,
//!   `.localhost`, `.local`), image and asset file names that look like addresses
//!   (`logo@2x.png`), and mailboxes nobody reads (`noreply@`, `mailer-daemon@`, ...).
//! - **Phone numbers**: runs of 7 to 15 digits with the usual separators (spaces, dots,
//!   dashes, slashes, brackets), not glued to letters or other digits, outside URLs. A number
//!   written internationally (`+44 …`, `0044 …`) is parsed on its own; one written nationally
//!   only when the tenant named its `default_region` — otherwise its country is not clear and
//!   it is not taken. Numbers that libphonenumber's metadata (the `phonenumber` crate) does
//!   not hold valid are refused; the rest are stored in E.164 (`+442079460958`).
//!
//! Obfuscated forms (`jane [at] example [dot] org`) are not recognised. At most
//! [`MAX_PER_KIND`] of each kind are taken from one signal. Nothing here touches the database
//! or logs a contact.

use std::{fmt, str::FromStr, sync::LazyLock};

use crate::FieldError;
use regex::Regex;

/// Most emails, and most phone numbers, taken from one signal.
pub const MAX_PER_KIND: usize = 5;

crate::named_enum! {
    /// The kind of a contact.
    pub enum ContactKind {
        /// An email address.
        Email = "email",
        /// A phone number in E.164.
        Phone = "phone",
    }
}

/// A validated, normalised contact. Ordered by kind, then value: the order in which a job
/// claims them, so two jobs never wait on each other's claims in opposite orders.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Contact {
    kind: ContactKind,
    value: String,
}

impl Contact {
    /// Its kind.
    pub fn kind(&self) -> ContactKind {
        self.kind
    }

    /// Its normalised value (an address, or a number in E.164).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `email:<address>` or `phone:<E.164>`, as kept on each lead's signal.
    pub fn tagged(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.value)
    }

    /// A contact as a caller names it (a GDPR request): an email address, or a phone number
    /// (international, or national in `region`). Paths are relative to the field.
    pub fn parse(kind: ContactKind, raw: &str, region: Option<Region>) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let value = match kind {
            ContactKind::Email => normalize_email(raw).map_err(|why| FieldError::new("", why))?,
            ContactKind::Phone => normalize_phone(raw, region).ok_or_else(|| {
                FieldError::new(
                    "",
                    if region.is_some() {
                        "not a valid phone number"
                    } else {
                        "not a valid international phone number (start with + and the country \
                         code, or set the tenant's default_region)"
                    },
                )
            })?,
        };
        Ok(Self { kind, value })
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

/// An ISO 3166-1 region that phonenumber knows (`US`, `GB`, `DE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id, [u8; 2]);

impl Region {
    /// Parses a two-letter region code (upper case).
    pub fn parse(code: &str) -> Result<Self, FieldError> {
        if code.len() != 2 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(FieldError::new(
                "",
                "expected a two-letter ISO 3166 region in upper case, like US or GB",
            ));
        }
        let bytes = code.as_bytes();
        phonenumber::country::Id::from_str(code)
            .map(|id| Region(id, [bytes[0], bytes[1]]))
            .map_err(|_| FieldError::new("", format!("{code} is not a region with phone numbers")))
    }

    /// Its code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.1).unwrap_or_default()
    }
}

/// The contacts found in one text: emails first, then phone numbers, each in order of first
/// appearance, without repeats.
pub fn extract(text: &str, region: Option<Region>) -> Vec<Contact> {
    // Links are not contacts: `https://x.example/u/jane@y.org` or `/comments/12345678901`.
    let text = URL.replace_all(text, " ");
    let mut out: Vec<Contact> = Vec::new();
    let push = |c: Contact, out: &mut Vec<Contact>| {
        if !out.contains(&c) && out.iter().filter(|o| o.kind == c.kind).count() < MAX_PER_KIND {
            out.push(c);
        }
    };
    for m in EMAIL.find_iter(&text) {
        if let Ok(value) = normalize_email(m.as_str()) {
            push(
                Contact {
                    kind: ContactKind::Email,
                    value,
                },
                &mut out,
            );
        }
    }
    for m in PHONE.find_iter(&text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let glued =
            |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || "_/=@#&%$€£.,-".contains(c));
        // `v2.4.1234567`, `#1234567`, `id=12345678`, `1,234,567.00`: not phone numbers.
        if glued(before) || after.is_some_and(|c| c.is_alphanumeric() || "_@%".contains(c)) {
            continue;
        }
        if let Some(value) = normalize_phone(m.as_str(), region) {
            push(
                Contact {
                    kind: ContactKind::Phone,
                    value,
                },
                &mut out,
            );
        }
    }
    out
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?|ftp)://\S+|\bwww\.\S+").expect("the URL pattern compiles")
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("the email pattern compiles")
});

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b00|\(|\b)\d[\d \t().\-/]{5,22}\d\b").expect("the phone pattern compiles")
});

/// Reserved for documentation and tests (RFC 2606, RFC 6761), or never routed.
const RESERVED_SUFFIXES: &[&str] = &[".example", ".test", ".invalid", ".localhost", ".local"];
const RESERVED_DOMAINS: &[&str] = &["example.com", "example.net", "example.org", "localhost"];
/// File extensions that make `name@2x.png` look like an address.
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "ico", "tif", "tiff", "avif", "heic", "css",
    "js", "mjs", "json", "pdf", "mp4", "webm", "mov", "woff", "woff2", "ttf", "map",
];
/// Mailboxes nobody reads.
const NOBODY: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "mailer-daemon",
    "postmaster",
    "bounce",
    "bounces",
];

/// Checks and normalises one email address (domain lower-cased); `Err` says why not.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let (local, domain) = raw.rsplit_once('@').ok_or("not an email address")?;
    if local.is_empty() || local.len() > 64 {
        return Err("the part before @ must be 1 to 64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before @ has a misplaced dot");
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c))
    {
        return Err("the part before @ has characters an address cannot have");
    }
    let domain = domain.to_ascii_lowercase();
    if domain.len() > 253 || !domain.contains('.') {
        return Err("the domain is not a full domain name");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err("the domain is not a valid domain name");
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err("the domain does not end in a top-level domain");
    }
    if FILE_EXTENSIONS.contains(&tld) {
        return Err("a file name, not an address");
    }
    let dotted = format!(".{domain}");
    if RESERVED_DOMAINS
        .iter()
        .any(|d| domain == *d || dotted.ends_with(&format!(".{d}")))
        || RESERVED_SUFFIXES.iter().any(|s| dotted.ends_with(s))
    {
        return Err("a reserved example domain, not a real address");
    }
    if NOBODY.contains(&local.to_ascii_lowercase().as_str()) {
        return Err("a mailbox nobody reads");
    }
    Ok(format!("{}@{domain}", local.to_ascii_lowercase()))
}

/// A phone number in E.164, when its country is clear and libphonenumber holds it valid.
pub fn normalize_phone(raw: &str, region: Option<Region>) -> Option<String> {
    let raw = raw.trim();
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    if !(7..=17).contains(&digits)
        || !raw
            .chars()
            .all(|c| c.is_ascii_digit() || " \t().-/+".contains(c))
    {
        return None;
    }
    // `00` is the international prefix almost everywhere (North America's 011 is read with
    // the region).
    let international = raw.starts_with('+') || raw.starts_with("00");
    let candidate = match raw.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => raw.to_owned(),
    };
    let number = if international {
        phonenumber::parse(None, &candidate).ok()?
    } else {
        phonenumber::parse(Some(region?.0), &candidate).ok()?
    };
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    (e164.len() <= 16).then_some(e164)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<String> {
        extract(text, None)
            .into_iter()
            .filter(|c| c.kind() == ContactKind::Email)
            .map(|c| c.value().to_owned())
            .collect()
    }

    fn phones(text: &str, region: Option<&str>) -> Vec<String> {
        let region = region.map(|r| Region::parse(r).unwrap());
        extract(text, region)
            .into_iter()
            .filter(|c| c.kind() == ContactKind::Phone)
            .map(|c| c.value().to_owned())
            .collect()
    }

    #[test]
    fn emails_are_found_validated_and_their_domain_lower_cased() {
        let cases: &[(&str, &[&str])] = &[
            (
                "write to Jane.Doe@Acme-Solar.COM today",
                &["jane.doe@acme-solar.com"],
            ),
            ("mailto:bob+roof@mail.co.uk.", &["bob+roof@mail.co.uk"]),
            (
                "<a>ops@acme.io</a>, sales@acme.io; ops@acme.io",
                &["ops@acme.io", "sales@acme.io"],
            ),
            (
                "(reach me: x_y-z@sub.domain.travel)",
                &["x_y-z@sub.domain.travel"],
            ),
            ("nothing here, just an @ sign and a.b", &[]),
            // junk: reserved domains, image file names, nobody's mailboxes, broken syntax
            ("me@example.com or me@mail.example.org", &[]),
            ("test@foo.test and a@b.invalid and c@printer.local", &[]),
            ("logo@2x.png icon@3x.webp sprite@1.5x.svg", &[]),
            (
                "noreply@acme.com NoReply@acme.com mailer-daemon@acme.com",
                &[],
            ),
            ("a..b@acme.com .a@acme.com", &[]),
            ("jane@-acme.com jane@acme-.com", &[]),
            ("jane@acme.c0m jane@acme.c", &[]),
            ("see https://acme.com/u/jane@acme.com", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(emails(text), *want, "{text}");
        }
        let long_local = format!("{}@acme.com", "a".repeat(65));
        assert_eq!(emails(&long_local), Vec::<String>::new());
    }

    #[test]
    fn phone_numbers_are_normalised_to_e164_when_their_country_is_clear() {
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            ("call +44 20 7946 0958 now", None, &["+442079460958"]),
            ("call 0044 20 7946 0958", None, &["+442079460958"]),
            (
                "ring +1 (415) 555-2671 or +1.415.555.2671",
                None,
                &["+14155552671"],
            ),
            ("Tel: +49 30 901820", None, &["+4930901820"]),
            // national numbers need the tenant's region
            ("call (415) 555-2671", None, &[]),
            ("call (415) 555-2671", Some("US"), &["+14155552671"]),
            ("call 020 7946 0958", Some("GB"), &["+442079460958"]),
            ("call 030 901820", Some("DE"), &["+4930901820"]),
            // junk: dates, prices, ids, versions, too short, invalid per the metadata
            ("on 2024-01-15 we paid 1,234,567.89", Some("US"), &[]),
            ("order #12345678901 and id=4155552671", Some("US"), &[]),
            ("version v2.4155552671", Some("US"), &[]),
            ("call 555-1234", Some("US"), &[]),
            ("call +1 555 555 5555", None, &[]),
            ("call +999 1234 5678", None, &[]),
            ("see https://x.io/comments/14155552671/", Some("US"), &[]),
        ];
        for (text, region, want) in cases {
            assert_eq!(phones(text, *region), *want, "{text} in {region:?}");
        }
    }

    #[test]
    fn a_signal_yields_each_contact_once_emails_first_and_at_most_five_of_a_kind() {
        let text =
            "Call +44 20 7946 0958 or mail Jane@acme.io; again: JANE@ACME.io, +44 (0)20 7946 0958";
        let got: Vec<String> = extract(text, None).iter().map(Contact::tagged).collect();
        assert_eq!(got, vec!["email:jane@acme.io", "phone:+442079460958"]);
        let many: String = (0..9).map(|i| format!("p{i}@acme.io ")).collect();
        assert_eq!(extract(&many, None).len(), MAX_PER_KIND);
    }

    #[test]
    fn contacts_named_in_a_request_are_parsed_with_reasons() {
        let region = Region::parse("GB").unwrap();
        let c = Contact::parse(ContactKind::Phone, " 020 7946 0958 ", Some(region)).unwrap();
        assert_eq!(c.value(), "+442079460958");
        assert!(Contact::parse(ContactKind::Phone, "020 7946 0958", None).is_err());
        let c = Contact::parse(ContactKind::Email, "Bob@ACME.io", None).unwrap();
        assert_eq!(c.tagged(), "email:bob@acme.io");
        assert!(Contact::parse(ContactKind::Email, "bob@example.com", None).is_err());
        assert!(Region::parse("gb").is_err());
        assert!(Region::parse("ZZ").is_err());
        assert_eq!(region.code(), "GB");
    }
}
