//! The two small languages of a workflow definition: paths with `{{ ... }}` templates, and `if`
//! conditions. Neither evaluates code: a path reads a value of the run's scope, a condition
//! compares such values with literals.
//!
//! - Paths: `input.a.b`, `steps.NAME.output.a.0`, `item`, `item.x` (a numeric segment indexes a
//!   list, or names an object's key).
//! - Templates: a string that is exactly `{{ path }}` becomes the value itself (a number stays a
//!   number); `{{ path }}` inside a longer string is replaced by the value's text.
//! - Conditions: `path OP literal-or-path` with `== != < <= > >=`, joined by `and` / `or`
//!   (`and` binds tighter), parentheses, and a bare path meaning "is truthy". Literals: numbers,
//!   `'strings'` or `"strings"`, `true`, `false`, `null`.
//!
//! Rendering is bounded: a template can copy a large value many times (`{{ input.a }}` a
//! thousand times over a 200 KB input), so every render spends a [`Budget`] of bytes *while* it
//! builds its output and stops with [`OverBudget`] as soon as the budget is spent: memory never
//! grows past the budget, whatever the template and the scope. Conditions need no budget: they
//! cannot loop or build values, a path reads its value in place (no copy), and a condition is
//! at most [`MAX_CONDITION_LEN`] characters, so evaluating one is linear in the values compared.

use std::{collections::HashMap, io};

use serde_json::Value;

/// The longest condition accepted.
pub const MAX_CONDITION_LEN: usize = 500;
/// The deepest parenthesis nesting accepted in a condition.
const MAX_DEPTH: usize = 16;

/// What one JSON value costs a [`Budget`] besides its text: about its size in memory, so that a
/// budget bounds memory even for values of many tiny parts (a list of 100,000 zeros is 200 KB of
/// JSON but 3 MB in memory).
pub const VALUE_COST: usize = 32;

/// What a missing value reads as.
static NULL: Value = Value::Null;

/// What a path starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// The run's input.
    Input,
    /// A step's output.
    Step(String),
    /// The current item of a `for_each`.
    Item,
}

/// A reference to a value of a run: `input.x`, `steps.NAME.output.x`, `item.x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Where it starts.
    pub root: Root,
    segments: Vec<String>,
}

/// The values a path can read while a run advances.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The run's input.
    pub input: &'a Value,
    /// The outputs of finished steps (a skipped step is absent and reads as `null`).
    pub steps: &'a HashMap<String, Value>,
    /// The current item, in a `for_each` step.
    pub item: Option<&'a Value>,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Path {
    /// Parses `input.a`, `steps.NAME.output.a`, `item.a`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = s.trim().split('.');
        let first = parts.next().unwrap_or_default();
        let root = match first {
            "input" => Root::Input,
            "item" => Root::Item,
            "steps" => {
                let name = parts.next().unwrap_or_default();
                if !is_name(name) {
                    return Err(format!("{s:?}: expected `steps.<step name>.output...`"));
                }
                if parts.next() != Some("output") {
                    return Err(format!(
                        "{s:?}: a step is read through its output: `steps.{name}.output...`"
                    ));
                }
                Root::Step(name.to_owned())
            }
            _ => {
                return Err(format!(
                    "{s:?}: a path starts with `input`, `steps.<name>.output` or `item`"
                ));
            }
        };
        let segments: Vec<String> = parts.map(str::to_owned).collect();
        if let Some(bad) = segments.iter().find(|p| !is_name(p)) {
            return Err(format!(
                "{s:?}: {bad:?} is not a path segment (letters, digits, `_` and `-`)"
            ));
        }
        Ok(Self { root, segments })
    }

    /// The value at this path, `null` when any part is missing. A copy: prefer [`Path::lookup`]
    /// to read a value that may be large.
    pub fn resolve(&self, scope: &Scope<'_>) -> Value {
        self.lookup(scope).cloned().unwrap_or(Value::Null)
    }

    /// The value at this path, read in place; `None` when any part is missing.
    pub fn lookup<'a>(&self, scope: &Scope<'a>) -> Option<&'a Value> {
        let mut at = match &self.root {
            Root::Input => Some(scope.input),
            Root::Item => scope.item,
            Root::Step(name) => scope.steps.get(name),
        }?;
        for seg in &self.segments {
            at = match at {
                Value::Object(map) => map.get(seg),
                Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }?;
        }
        Some(at)
    }
}

// ---------------------------------------------------------------------------------------------
// Budgets

/// Bytes a render may still produce. Spent while rendering: a string by its length, every
/// value by [`VALUE_COST`] more, a number, boolean or list interpolated into a string by the
/// length of its JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limit: usize,
    left: usize,
}

/// A render stopped: it would have produced more than its budget allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the rendered value exceeds the budget of {limit} bytes")]
pub struct OverBudget {
    /// The budget it exceeded.
    pub limit: usize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { limit, left: limit }
    }

    /// What it started with.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// What was spent so far.
    pub fn spent(&self) -> usize {
        self.limit - self.left
    }

    fn spend(&mut self, bytes: usize) -> Result<(), OverBudget> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.left = 0;
                Err(OverBudget { limit: self.limit })
            }
        }
    }

    /// Spends what a copy of `v` costs, walking it only as far as the budget lasts.
    fn spend_on(&mut self, v: &Value) -> Result<(), OverBudget> {
        self.spend(VALUE_COST)?;
        match v {
            Value::String(s) => self.spend(s.len()),
            Value::Array(items) => items.iter().try_for_each(|item| self.spend_on(item)),
            Value::Object(map) => map.iter().try_for_each(|(k, item)| {
                self.spend(VALUE_COST + k.len())?;
                self.spend_on(item)
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
}

/// A string being built under a budget; serde_json writes into it and stops when it is spent.
struct Capped<'b> {
    out: Vec<u8>,
    budget: &'b mut Budget,
}

impl io::Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.budget
            .spend(buf.len())
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capped<'_> {
    fn push(&mut self, s: &str) -> Result<(), OverBudget> {
        self.budget.spend(s.len())?;
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// Appends `v`'s text: a string as itself, `null` as nothing, anything else as JSON.
    fn push_value(&mut self, v: Option<&Value>) -> Result<(), OverBudget> {
        match v {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) => self.push(s),
            Some(other) => serde_json::to_writer(&mut *self, other).map_err(|_| OverBudget {
                limit: self.budget.limit,
            }),
        }
    }

    fn finish(self) -> String {
        // Only whole strings and whole JSON documents were appended: valid UTF-8.
        match String::from_utf8(self.out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Templates

/// The `{{ path }}` placeholders of a template string, in order, with their byte ranges.
fn placeholders(s: &str) -> Result<Vec<(std::ops::Range<usize>, Path)>, String> {
    let mut out = vec![];
    let mut rest = 0;
    while let Some(open) = s[rest..].find("{{") {
        let start = rest + open;
        let Some(close) = s[start + 2..].find("}}") else {
            return Err("`{{` without a closing `}}`".into());
        };
        let end = start + 2 + close + 2;
        out.push((start..end, Path::parse(&s[start + 2..end - 2])?));
        rest = end;
    }
    Ok(out)
}

/// Every path the templates in `template` use, with the JSON path of the string holding it
/// (relative to `template`, e.g. `headers.Authorization`).
pub fn template_paths(template: &Value) -> Result<Vec<(String, Path)>, (String, String)> {
    fn walk(v: &Value, at: &str, out: &mut Vec<(String, Path)>) -> Result<(), (String, String)> {
        match v {
            Value::String(s) => {
                for (_, p) in placeholders(s).map_err(|e| (at.to_owned(), e))? {
                    out.push((at.to_owned(), p));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}[{i}]"), out)?;
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    walk(item, &path, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let mut out = vec![];
    walk(template, "", &mut out)?;
    Ok(out)
}

/// Whether a JSON value holds any `{{ ... }}` placeholder.
pub fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(has_template),
        Value::Object(map) => map.values().any(has_template),
        _ => false,
    }
}

/// Fills the placeholders of `template` from `scope`, spending `budget` as it goes: it stops
/// with [`OverBudget`] as soon as the output would exceed it, never building more than the
/// budget. Call only on templates that passed [`template_paths`].
pub fn render(
    template: &Value,
    scope: &Scope<'_>,
    budget: &mut Budget,
) -> Result<Value, OverBudget> {
    match template {
        Value::String(s) => {
            let Ok(found) = placeholders(s) else {
                budget.spend_on(template)?;
                return Ok(template.clone());
            };
            if let [(range, path)] = found.as_slice()
                && range.start == 0
                && range.end == s.len()
            {
                let value = path.lookup(scope).unwrap_or(&NULL);
                budget.spend_on(value)?;
                return Ok(value.clone());
            }
            budget.spend(VALUE_COST)?;
            let mut out = Capped {
                out: Vec::new(),
                budget,
            };
            let mut last = 0;
            for (range, path) in found {
                out.push(&s[last..range.start])?;
                out.push_value(path.lookup(scope))?;
                last = range.end;
            }
            out.push(&s[last..])?;
            Ok(Value::String(out.finish()))
        }
        Value::Array(items) => {
            budget.spend(VALUE_COST)?;
            items
                .iter()
                .map(|v| render(v, scope, budget))
                .collect::<Result<_, _>>()
                .map(Value::Array)
        }
        Value::Object(map) => {
            budget.spend(VALUE_COST)?;
            map.iter()
                .map(|(k, v)| {
                    budget.spend(VALUE_COST + k.len())?;
                    Ok((k.clone(), render(v, scope, budget)?))
                })
                .collect::<Result<_, _>>()
                .map(Value::Object)
        }
        other => {
            budget.spend_on(other)?;
            Ok(other.clone())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A value of the run.
    Path(Path),
    /// A literal.
    Literal(Value),
}

/// A parsed `if` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Any holds.
    Or(Vec<Condition>),
    /// All hold.
    And(Vec<Condition>),
    /// A comparison.
    Compare(Operand, Op, Operand),
    /// The value is truthy (not null, false, 0, "", [] or {}).
    Truthy(Path),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal(Value),
    Op(Op),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '=' | '!' | '<' | '>' => {
                let two = chars.get(i + 1) == Some(&'=');
                let op = match (c, two) {
                    ('=', true) => Op::Eq,
                    ('!', true) => Op::Ne,
                    ('<', true) => Op::Le,
                    ('>', true) => Op::Ge,
                    ('<', false) => Op::Lt,
                    ('>', false) => Op::Gt,
                    _ => return Err(format!("unexpected {c:?} at {i}; expected == or !=")),
                };
                out.push(Token::Op(op));
                i += if two { 2 } else { 1 };
            }
            '\'' | '"' => {
                let quote = c;
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|&x| x == quote) else {
                    return Err(format!("unterminated string starting at {i}"));
                };
                out.push(Token::Literal(Value::String(
                    chars[start..start + len].iter().collect(),
                )));
                i = start + len + 1;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n: f64 = text
                    .parse()
                    .map_err(|_| format!("{text:?} is not a number"))?;
                let v = serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| format!("{text:?} is not a finite number"))?;
                out.push(Token::Literal(v));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '-' | '.'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(match word.as_str() {
                    "true" => Token::Literal(Value::Bool(true)),
                    "false" => Token::Literal(Value::Bool(false)),
                    "null" => Token::Literal(Value::Null),
                    _ => Token::Word(word),
                });
            }
            other => return Err(format!("unexpected {other:?} at {i}")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(x)) if x == w)
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.and()?];
        while self.is_word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.atom()?];
        while self.is_word("and") {
            self.at += 1;
            parts.push(self.atom()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Literal(v)) => {
                self.at += 1;
                Ok(Operand::Literal(v))
            }
            Some(Token::Word(w)) if w != "and" && w != "or" => {
                self.at += 1;
                Ok(Operand::Path(Path::parse(&w)?))
            }
            Some(t) => Err(format!("expected a path or a literal, found {t:?}")),
            None => Err("expected a path or a literal, found the end".into()),
        }
    }

    fn atom(&mut self) -> Result<Condition, String> {
        if self.peek() == Some(&Token::Open) {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH} parentheses"));
            }
            self.at += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Token::Close) {
                return Err("expected `)`".into());
            }
            self.at += 1;
            self.depth -= 1;
            return Ok(inner);
        }
        let left = self.operand()?;
        if let Some(Token::Op(op)) = self.peek().cloned() {
            self.at += 1;
            let right = self.operand()?;
            return Ok(Condition::Compare(left, op, right));
        }
        match left {
            Operand::Path(p) => Ok(Condition::Truthy(p)),
            Operand::Literal(v) => Err(format!("{v} alone is not a condition; compare a path")),
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn compare(left: &Value, op: Op, right: &Value) -> bool {
    use std::cmp::Ordering;
    let order = match (left, right) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if a == b => Some(Ordering::Equal),
        _ => None,
    };
    match op {
        Op::Eq => order == Some(Ordering::Equal),
        Op::Ne => order != Some(Ordering::Equal),
        Op::Lt => order == Some(Ordering::Less),
        Op::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => order == Some(Ordering::Greater),
        Op::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
    }
}

impl Condition {
    /// Parses a condition.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > MAX_CONDITION_LEN {
            return Err(format!("longer than {MAX_CONDITION_LEN} characters"));
        }
        let mut p = Parser {
            tokens: tokenize(s)?,
            at: 0,
            depth: 0,
        };
        if p.tokens.is_empty() {
            return Err("empty condition".into());
        }
        let c = p.or()?;
        if let Some(t) = p.peek() {
            return Err(format!("unexpected {t:?} after a complete condition"));
        }
        Ok(c)
    }

    /// Every path the condition reads.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            Condition::Or(parts) | Condition::And(parts) => {
                parts.iter().flat_map(Condition::paths).collect()
            }
            Condition::Compare(a, _, b) => [a, b]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Path(p) => Some(p),
                    Operand::Literal(_) => None,
                })
                .collect(),
            Condition::Truthy(p) => vec![p],
        }
    }

    /// Whether the condition holds in `scope`. Values are read in place, never copied: the
    /// work is linear in the condition's length and the size of the values it compares.
    pub fn eval(&self, scope: &Scope<'_>) -> bool {
        fn value<'v>(o: &'v Operand, scope: &Scope<'v>) -> &'v Value {
            match o {
                Operand::Path(p) => p.lookup(scope).unwrap_or(&NULL),
                Operand::Literal(v) => v,
            }
        }
        match self {
            Condition::Or(parts) => parts.iter().any(|c| c.eval(scope)),
            Condition::And(parts) => parts.iter().all(|c| c.eval(scope)),
            Condition::Compare(a, op, b) => compare(value(a, scope), *op, value(b, scope)),
            Condition::Truthy(p) => p.lookup(scope).is_some_and(truthy),
        }
    }
}

#[cfg(test)]
mod tests;
