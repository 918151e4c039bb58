//! The template sandbox: a small, bounded subset of Jinja (`{{ … }}`, `{% if %}`, `{% for %}`,
//! a fixed set of filters), run on fuel with a capped output, escaping every value for its
//! service. It renders; it never sends.

use super::*;

/// Refuses what the template subset does not have: anything over [`MAX_TEMPLATE_BYTES`],
/// statements other than [`STATEMENTS`], recursive loops, and `*`/`**` (string and list
/// repetition would let a small template allocate without bound).
pub(super) fn check_source(source: &str) -> Result<(), String> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(format!("longer than {MAX_TEMPLATE_BYTES} bytes"));
    }
    if source.contains('\0') {
        return Err("must not contain NUL characters".into());
    }
    let mut statement_start = false;
    for token in tokenize(source, false, SyntaxConfig::default()) {
        let (token, span) = token.map_err(|e| e.to_string())?;
        let at = format!("line {}", span.start_line);
        match token {
            Token::Mul | Token::Pow => {
                return Err(format!("{at}: `*` and `**` are not available"));
            }
            Token::Ident("recursive") => {
                return Err(format!("{at}: recursive loops are not available"));
            }
            Token::Ident(name) if statement_start && !STATEMENTS.contains(&name) => {
                return Err(format!(
                    "{at}: `{{% {name} %}}` is not available (only if and for)"
                ));
            }
            _ => {}
        }
        statement_start = matches!(token, Token::BlockStart);
    }
    Ok(())
}

/// How values are escaped for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escape {
    /// Slack mrkdwn: `&`, `<`, `>`.
    Slack,
    /// Discord Markdown: a backslash before each formatting character (bare links kept).
    Discord,
    /// HTML (Telegram, email).
    Html,
    /// Plain text (email's text part).
    None,
}

impl Escape {
    fn apply(self, s: &str) -> Cow<'_, str> {
        match self {
            Escape::Slack => slack_escape(s),
            Escape::Discord => discord_escape(s),
            Escape::Html => html_escape(s),
            Escape::None => Cow::Borrowed(s),
        }
    }
}

/// An `io::Write` that refuses to go past [`MAX_OUTPUT_BYTES`].
struct Capped(Vec<u8>);

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT_BYTES {
            return Err(io::Error::other(format!(
                "the output is longer than {MAX_OUTPUT_BYTES} bytes"
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `source` with `context`, escaping every value with `escape`.
pub(super) fn run(source: &str, escape: Escape, context: &JValue) -> Result<String, String> {
    let text = run_raw(source, escape, context)?;
    if text.trim().is_empty() {
        return Err("the template rendered nothing".into());
    }
    Ok(clean(&text, MAX_OUTPUT_BYTES, true))
}

/// Runs `source` with `context` under the same budget as [`run`]; the text may be empty.
pub(super) fn run_raw(source: &str, escape: Escape, context: &JValue) -> Result<String, String> {
    let env = environment(escape);
    let template = env.template_from_str(source).map_err(|e| describe(&e))?;
    let mut out = Capped(Vec::new());
    template
        .render_captured_to(context, &mut out)
        .map_err(|e| describe(&e))?;
    Ok(String::from_utf8_lossy(&out.0).into_owned())
}

fn describe(e: &JinjaError) -> String {
    match e.kind() {
        ErrorKind::OutOfFuel => format!(
            "the template ran past its limit of {FUEL} steps (an endless or very long loop?)"
        ),
        _ => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let more = cause.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                source = cause.source();
            }
            text
        }
    }
}

/// The bounded environment: fuel, a low recursion limit, lenient undefined values, the
/// kind's escaping for every value (templates cannot mark one safe), and only filters whose
/// output is bounded by their input.
fn environment(escape: Escape) -> Environment<'static> {
    use minijinja::{filters, tests};
    let mut env = Environment::empty();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(16);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_formatter(move |out, _state, value| {
        if value.is_undefined() || value.is_none() {
            return Ok(());
        }
        let text = match value.as_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(value.to_string()),
        };
        out.write_str(&escape.apply(&text))
            .map_err(|_| JinjaError::new(ErrorKind::WriteFailure, "the output is full"))
    });
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.add_filter("length", filters::length);
    env.add_filter("count", filters::length);
    env.add_filter("default", filters::default);
    env.add_filter("d", filters::default);
    env.add_filter("first", filters::first);
    env.add_filter("last", filters::last);
    env.add_filter("round", filters::round);
    env.add_filter("int", filters::int);
    env.add_filter("float", filters::float);
    env.add_filter("abs", filters::abs);
    env.add_filter("string", filters::string);
    env.add_filter("truncate", truncate_filter);
    env.add_filter("join", join_filter);
    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env.add_test("none", tests::is_none);
    env.add_test("number", tests::is_number);
    env.add_test("string", tests::is_string);
    env.add_test("sequence", tests::is_sequence);
    env.add_test("mapping", tests::is_mapping);
    env
}

/// `truncate(length=255)`: at most `length` characters, ending in `…` when cut.
fn truncate_filter(value: &JValue, length: Option<usize>) -> String {
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    cut(&text, length.unwrap_or(255).max(1))
}

/// `join(separator="")`, refusing to build more than [`MAX_JOIN_BYTES`].
fn join_filter(value: &JValue, separator: Option<&str>) -> Result<String, JinjaError> {
    let separator = separator.unwrap_or("");
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        match item.as_str() {
            Some(s) => out.push_str(s),
            None => out.push_str(&item.to_string()),
        }
        if out.len() > MAX_JOIN_BYTES {
            return Err(JinjaError::new(
                ErrorKind::InvalidOperation,
                format!("join would be longer than {MAX_JOIN_BYTES} bytes"),
            ));
        }
    }
    Ok(out)
}
