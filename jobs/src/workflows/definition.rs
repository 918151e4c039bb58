//! A workflow definition: `{steps: [{name, kind, args?, after?, for_each?, item_if?, if?, max_attempts?,
//! concurrency?: {key, limit}}]}`,
//! parsed and checked as a whole, so a 422 names every problem with its path
//! (`steps[2].after[0]`, `steps[1].args.url`, `steps[3].if`).

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::expr::{self, Condition, Path, Root};
use crate::{
    FieldError,
    kinds::{self, KindInfo},
};

/// Most attempts a step may ask for (as for any job).
const MAX_ATTEMPTS: i32 = 100;

/// Most steps in one workflow.
pub const MAX_STEPS: usize = 100;
/// Longest step name.
pub const MAX_NAME: usize = 50;

/// A checked definition.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The steps, in the order written.
    pub steps: Vec<Step>,
}

/// One checked step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Unique in the workflow.
    pub name: String,
    /// The job kind it runs.
    pub kind: &'static KindInfo,
    /// The args, with `{{ ... }}` placeholders.
    pub args: Value,
    /// Steps that must finish first.
    pub after: Vec<String>,
    /// The list to fan out over: one job per item.
    pub for_each: Option<Path>,
    /// Runs only when this holds; skipped otherwise.
    pub condition: Option<Condition>,
    /// With `for_each`: only the items for which this holds get a job (`item.score >= 70`).
    pub item_condition: Option<Condition>,
    /// Attempts of each of its jobs (the kind's default otherwise).
    pub max_attempts: Option<i32>,
    /// A concurrency key for its jobs (a string template, e.g. `"source-{{ trigger.source_id }}"`)
    /// and its limit: at most that many of the tenant's jobs with the rendered key run at once.
    pub concurrency: Option<(Value, i32)>,
}

/// A step's concurrency key, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConcurrency {
    key: String,
    limit: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    kind: String,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    for_each: Option<String>,
    #[serde(default, rename = "if")]
    condition: Option<String>,
    #[serde(default)]
    item_if: Option<String>,
    #[serde(default)]
    max_attempts: Option<i32>,
    #[serde(default)]
    concurrency: Option<RawConcurrency>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl Definition {
    /// Parses and checks a definition, reporting every problem found.
    pub fn parse(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut errors = vec![];
        let Value::Object(map) = value else {
            return Err(vec![FieldError::new(
                "",
                "expected a JSON object with `steps`",
            )]);
        };
        if let Some(extra) = map.keys().find(|k| *k != "steps") {
            errors.push(FieldError::new(
                extra.as_str(),
                "unknown field; expected `steps`",
            ));
        }
        let Some(Value::Array(items)) = map.get("steps") else {
            errors.push(FieldError::new("steps", "required: a list of steps"));
            return Err(errors);
        };
        if items.is_empty() || items.len() > MAX_STEPS {
            errors.push(FieldError::new(
                "steps",
                format!("expected 1 to {MAX_STEPS} steps"),
            ));
            return Err(errors);
        }

        // Each step on its own.
        let mut raw: Vec<Option<RawStep>> = vec![];
        for (i, item) in items.iter().enumerate() {
            let at = format!("steps[{i}]");
            match kinds::from_value::<RawStep>(item.clone()) {
                Ok(step) => raw.push(Some(step)),
                Err(e) => {
                    let e = if e.path.is_empty() && e.message.starts_with("missing field") {
                        let field = e.message.split('`').nth(1).unwrap_or_default().to_owned();
                        FieldError::new(field, "required")
                    } else {
                        e
                    };
                    errors.push(e.under(&at));
                    raw.push(None);
                }
            }
        }
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, step) in raw.iter().enumerate() {
            let Some(step) = step else { continue };
            if !valid_name(&step.name) {
                errors.push(FieldError::new(
                    format!("steps[{i}].name"),
                    format!("expected 1 to {MAX_NAME} of a-z, 0-9, `_` and `-`"),
                ));
            } else if let Some(first) = index.insert(step.name.clone(), i) {
                index.insert(step.name.clone(), first);
                errors.push(FieldError::new(
                    format!("steps[{i}].name"),
                    format!("duplicate step name {:?} (also steps[{first}])", step.name),
                ));
            }
        }

        // The graph: unknown dependencies, then cycles.
        let mut deps: Vec<Vec<usize>> = vec![vec![]; raw.len()];
        for (i, step) in raw.iter().enumerate() {
            let Some(step) = step else { continue };
            for (j, dep) in step.after.iter().enumerate() {
                match index.get(dep.as_str()) {
                    Some(&d) if d == i => errors.push(FieldError::new(
                        format!("steps[{i}].after[{j}]"),
                        "a step cannot wait for itself",
                    )),
                    Some(&d) => deps[i].push(d),
                    None => errors.push(FieldError::new(
                        format!("steps[{i}].after[{j}]"),
                        format!("no step is named {dep:?}"),
                    )),
                }
            }
        }
        let acyclic = match cycle(&deps) {
            Some(members) => {
                let names: Vec<&str> = members
                    .iter()
                    .filter_map(|&m| raw[m].as_ref().map(|s| s.name.as_str()))
                    .collect();
                for &m in &members {
                    errors.push(FieldError::new(
                        format!("steps[{m}].after"),
                        format!("the steps form a cycle: {}", names.join(" → ")),
                    ));
                }
                false
            }
            None => true,
        };
        let ancestors: Vec<HashSet<usize>> = if acyclic {
            (0..raw.len()).map(|i| ancestors_of(i, &deps)).collect()
        } else {
            vec![]
        };

        // What each step reads: kinds, templates, for_each, if.
        let mut steps = vec![];
        for (i, step) in raw.into_iter().enumerate() {
            let Some(step) = step else { continue };
            let at = format!("steps[{i}]");
            let mut ok = true;
            let mut problem = |path: String, message: String| {
                errors.push(FieldError::new(path, message));
            };
            // A path may read the input, the item of its own for_each, and the outputs of the
            // steps it (transitively) waits for.
            let readable = |p: &Path, item_allowed: bool| -> Result<(), String> {
                match &p.root {
                    Root::Input => Ok(()),
                    Root::Item if item_allowed => Ok(()),
                    Root::Item => Err("`item` exists only in a step with `for_each`".into()),
                    Root::Step(name) => match index.get(name.as_str()) {
                        None => Err(format!("no step is named {name:?}")),
                        Some(d) if acyclic && !ancestors[i].contains(d) => Err(format!(
                            "step {name:?} does not run before this one; add it to `after`"
                        )),
                        Some(_) => Ok(()),
                    },
                }
            };
            let kind = kinds::find(&step.kind);
            if kind.is_none() {
                ok = false;
                problem(
                    format!("{at}.kind"),
                    format!(
                        "unknown kind {:?}; expected one of {}",
                        step.kind,
                        kinds::names()
                    ),
                );
            }
            let for_each = match step.for_each.as_deref().map(Path::parse) {
                None => None,
                Some(Err(e)) => {
                    ok = false;
                    problem(format!("{at}.for_each"), e);
                    None
                }
                Some(Ok(p)) => {
                    if let Err(e) = readable(&p, false) {
                        ok = false;
                        problem(format!("{at}.for_each"), e);
                    }
                    Some(p)
                }
            };
            let condition = match step.condition.as_deref().map(Condition::parse) {
                None => None,
                Some(Err(e)) => {
                    ok = false;
                    problem(format!("{at}.if"), e);
                    None
                }
                Some(Ok(c)) => {
                    for p in c.paths() {
                        if let Err(e) = readable(p, false) {
                            ok = false;
                            problem(format!("{at}.if"), e);
                        }
                    }
                    Some(c)
                }
            };
            let item_condition = match step.item_if.as_deref().map(Condition::parse) {
                None => None,
                Some(_) if for_each.is_none() && step.for_each.is_none() => {
                    ok = false;
                    problem(
                        format!("{at}.item_if"),
                        "`item_if` filters the items of a `for_each`; this step has none".into(),
                    );
                    None
                }
                Some(Err(e)) => {
                    ok = false;
                    problem(format!("{at}.item_if"), e);
                    None
                }
                Some(Ok(c)) => {
                    for p in c.paths() {
                        if let Err(e) = readable(p, true) {
                            ok = false;
                            problem(format!("{at}.item_if"), e);
                        }
                    }
                    Some(c)
                }
            };
            let args = step
                .args
                .unwrap_or_else(|| Value::Object(Default::default()));
            match expr::template_paths(&args) {
                Err((path, e)) => {
                    ok = false;
                    problem(
                        FieldError::new(path, "").under(&format!("{at}.args")).path,
                        e,
                    );
                }
                Ok(paths) => {
                    for (path, p) in paths {
                        if let Err(e) = readable(&p, for_each.is_some()) {
                            ok = false;
                            problem(
                                FieldError::new(path, "").under(&format!("{at}.args")).path,
                                e,
                            );
                        }
                    }
                }
            }
            if let Some(kind) = kind
                && let Err(e) = check_args(kind, &args)
            {
                ok = false;
                let e = e.under(&format!("{at}.args"));
                problem(e.path, e.message);
            }
            if let Some(n) = step.max_attempts
                && !(1..=MAX_ATTEMPTS).contains(&n)
            {
                ok = false;
                problem(
                    format!("{at}.max_attempts"),
                    format!("expected 1 to {}", MAX_ATTEMPTS),
                );
            }
            let concurrency = step.concurrency.map(|c| {
                if !(1..=crate::queue::MAX_CONCURRENCY_LIMIT).contains(&c.limit) {
                    ok = false;
                    problem(
                        format!("{at}.concurrency.limit"),
                        format!("expected 1 to {}", crate::queue::MAX_CONCURRENCY_LIMIT),
                    );
                }
                let key = Value::String(c.key);
                match expr::template_paths(&key) {
                    Err((_, e)) => {
                        ok = false;
                        problem(format!("{at}.concurrency.key"), e);
                    }
                    Ok(paths) => {
                        for (_, p) in paths {
                            if let Err(e) = readable(&p, for_each.is_some()) {
                                ok = false;
                                problem(format!("{at}.concurrency.key"), e);
                            }
                        }
                    }
                }
                (key, c.limit)
            });
            if let (true, Some(kind)) = (ok, kind) {
                steps.push(Step {
                    name: step.name,
                    kind,
                    args,
                    after: step.after,
                    for_each,
                    condition,
                    item_condition,
                    max_attempts: step.max_attempts,
                    concurrency,
                });
            }
        }
        if errors.is_empty() {
            Ok(Self { steps })
        } else {
            Err(errors)
        }
    }

    /// The step named `name`.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// Checks the args against the kind's schema as far as templates allow. A field whose value
/// holds a placeholder is only known at run time, so it is tried with a few probe values (a URL,
/// a number, a boolean, a word, a list, an object): the args fit when some probe fits, and an
/// error at a field without a placeholder under every probe is reported.
fn check_args(kind: &KindInfo, args: &Value) -> Result<(), FieldError> {
    let Value::Object(map) = args else {
        return Err(FieldError::new("", "expected a JSON object"));
    };
    let templated: Vec<&String> = map
        .iter()
        .filter(|(_, v)| expr::has_template(v))
        .map(|(k, _)| k)
        .collect();
    if templated.is_empty() {
        return kind.validate(args.clone()).map(|_| ());
    }
    let probes = [
        Value::String("https://example.com/".into()),
        Value::from(1),
        Value::Bool(true),
        Value::String("x".into()),
        Value::Array(vec![]),
        Value::Object(Default::default()),
    ];
    let mut reported = None;
    for probe in probes {
        let mut probed = map.clone();
        for k in &templated {
            probed.insert((*k).clone(), probe.clone());
        }
        match kind.validate(Value::Object(probed)) {
            Ok(_) => return Ok(()),
            Err(e)
                if !e.message.starts_with("missing field")
                    && !templated
                        .iter()
                        .any(|k| e.path == **k || e.path.starts_with(&format!("{k}."))) =>
            {
                reported.get_or_insert(e);
            }
            Err(_) => {}
        }
    }
    reported.map_or(Ok(()), Err)
}

/// The members of a cycle, when the graph has one.
fn cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    // 0: unvisited, 1: on the stack, 2: done.
    fn visit(
        n: usize,
        deps: &[Vec<usize>],
        mark: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        mark[n] = 1;
        stack.push(n);
        for &d in &deps[n] {
            if mark[d] == 1 {
                let from = stack.iter().position(|&s| s == d).unwrap_or(0);
                let mut members = stack[from..].to_vec();
                members.reverse();
                return Some(members);
            }
            if mark[d] == 0
                && let Some(c) = visit(d, deps, mark, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        mark[n] = 2;
        None
    }
    let mut mark = vec![0u8; deps.len()];
    for n in 0..deps.len() {
        if mark[n] == 0
            && let Some(c) = visit(n, deps, &mut mark, &mut vec![])
        {
            return Some(c);
        }
    }
    None
}

fn ancestors_of(i: usize, deps: &[Vec<usize>]) -> HashSet<usize> {
    let mut seen = HashSet::new();
    let mut todo = deps[i].clone();
    while let Some(d) = todo.pop() {
        if seen.insert(d) {
            todo.extend(deps[d].iter().copied());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(v: Value) -> Vec<String> {
        Definition::parse(&v)
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn a_diamond_with_fan_out_and_a_condition_parses() {
        let d = Definition::parse(&json!({"steps": [
            {"name": "fetch", "kind": "noop", "args": {"output": {"items": [1, 2]}}},
            {"name": "each", "kind": "noop", "after": ["fetch"],
             "for_each": "steps.fetch.output.items", "args": {"output": "{{ item }}"}},
            {"name": "score", "kind": "noop", "after": ["fetch"],
             "if": "steps.fetch.output.items != null and input.min >= 1"},
            {"name": "join", "kind": "http_request", "after": ["each", "score"],
             "args": {"method": "POST", "url": "{{ input.url }}", "body": "{{ steps.each.output }}"}},
        ]}))
        .unwrap();
        assert_eq!(d.steps.len(), 4);
        assert!(d.step("each").unwrap().for_each.is_some());
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let errors = paths(json!({"steps": [
            {"name": "a", "kind": "nope"},
            {"name": "b", "kind": "noop", "after": ["zzz"]},
            {"name": "b", "kind": "noop"},
            {"name": "c", "kind": "noop", "if": "steps.a.output.x >"},
            {"name": "d", "kind": "noop", "args": {"sleep_ms": "soon"}},
            {"name": "e", "kind": "noop", "args": {"output": "{{ item }}"}},
            {"name": "f", "kind": "noop", "for_each": "steps.d.output.list"},
            {"kind": "noop"},
            {"name": "g", "kind": "noop", "max_attempts": 0},
        ]}));
        assert_eq!(
            errors,
            vec![
                "steps[7].name",
                "steps[2].name",
                "steps[1].after[0]",
                "steps[0].kind",
                "steps[3].if",
                "steps[4].args.sleep_ms",
                "steps[5].args.output",
                "steps[6].for_each",
                "steps[8].max_attempts",
            ]
        );
    }

    #[test]
    fn cycles_are_rejected_naming_each_member() {
        let errors = paths(json!({"steps": [
            {"name": "a", "kind": "noop", "after": ["c"]},
            {"name": "b", "kind": "noop", "after": ["a"]},
            {"name": "c", "kind": "noop", "after": ["b"]},
            {"name": "d", "kind": "noop"},
        ]}));
        let mut errors = errors;
        errors.sort();
        assert_eq!(
            errors,
            vec!["steps[0].after", "steps[1].after", "steps[2].after"]
        );
        assert_eq!(
            paths(json!({"steps": [{"name": "a", "kind": "noop", "after": ["a"]}]})),
            vec!["steps[0].after[0]"]
        );
    }

    #[test]
    fn templated_args_are_checked_where_they_are_fixed() {
        // `url` is only known at run time; `method` is fixed and wrong.
        let errors = paths(json!({"steps": [
            {"name": "a", "kind": "http_request", "args": {"method": "FETCH", "url": "{{ input.url }}"}},
        ]}));
        assert_eq!(errors, vec!["steps[0].args.method"]);
        assert!(
            Definition::parse(&json!({"steps": [
                {"name": "a", "kind": "http_request", "args": {"method": "GET", "url": "{{ input.url }}"}},
            ]}))
            .is_ok()
        );
        assert_eq!(
            paths(json!({"steps": [{"name": "a", "kind": "noop", "args": {"nope": 1}}]})),
            vec!["steps[0].args.nope"]
        );
    }

    #[test]
    fn steps_read_only_what_runs_before_them() {
        assert_eq!(
            paths(json!({"steps": [
                {"name": "a", "kind": "noop"},
                {"name": "b", "kind": "noop", "if": "steps.a.output.x == 1"},
            ]})),
            vec!["steps[1].if"]
        );
        assert_eq!(
            paths(json!({"steps": [], "extra": 1})),
            vec!["extra", "steps"]
        );
        assert_eq!(
            paths(json!({"steps": [{"name": "Bad Name", "kind": "noop"}]})),
            vec!["steps[0].name"]
        );
    }

    #[test]
    fn item_if_needs_a_for_each_and_may_read_the_item() {
        assert_eq!(
            paths(json!({"steps": [{"name": "a", "kind": "noop", "item_if": "item.x == 1"}]})),
            vec!["steps[0].item_if"]
        );
        assert_eq!(
            paths(
                json!({"steps": [{"name": "a", "kind": "noop", "for_each": "input.l",
                                    "item_if": "item.x =="}]})
            ),
            vec!["steps[0].item_if"]
        );
        let d = Definition::parse(&json!({"steps": [
            {"name": "a", "kind": "noop", "for_each": "input.l", "item_if": "item.score >= 70"}
        ]}))
        .unwrap();
        assert!(d.step("a").unwrap().item_condition.is_some());
    }
}
