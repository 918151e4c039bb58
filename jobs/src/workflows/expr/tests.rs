use serde_json::json;

use super::*;

fn scope_with<'a>(
    input: &'a Value,
    steps: &'a HashMap<String, Value>,
    item: Option<&'a Value>,
) -> Scope<'a> {
    Scope { input, steps, item }
}

#[test]
fn paths_read_input_steps_and_items() {
    let input = json!({"feed": {"url": "u"}, "list": [1, 2]});
    let steps = HashMap::from([("classify".to_owned(), json!({"score": 80}))]);
    let item = json!({"id": 7});
    let s = scope_with(&input, &steps, Some(&item));
    assert_eq!(Path::parse("input.feed.url").unwrap().resolve(&s), "u");
    assert_eq!(Path::parse("input.list.1").unwrap().resolve(&s), 2);
    assert_eq!(
        Path::parse("steps.classify.output.score")
            .unwrap()
            .resolve(&s),
        80
    );
    assert_eq!(Path::parse("item.id").unwrap().resolve(&s), 7);
    assert_eq!(
        Path::parse("input.nope.x").unwrap().resolve(&s),
        Value::Null
    );
    for bad in [
        "",
        "x.y",
        "steps.a",
        "steps.a.result",
        "input.a b",
        "steps..output",
    ] {
        assert!(Path::parse(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn templates_keep_types_when_whole_and_interpolate_otherwise() {
    let input = json!({"n": 3, "name": "x"});
    let steps = HashMap::from([("a".to_owned(), json!({"items": [1, 2]}))]);
    let s = scope_with(&input, &steps, None);
    let t = json!({
        "whole": "{{ input.n }}",
        "list": "{{steps.a.output.items}}",
        "text": "n={{ input.n }} name={{ input.name }}{{ input.missing }}",
        "nested": ["{{ input.name }}", 5],
    });
    let mut budget = Budget::new(1024);
    assert_eq!(
        render(&t, &s, &mut budget).unwrap(),
        json!({"whole": 3, "list": [1, 2], "text": "n=3 name=x", "nested": ["x", 5]})
    );
    // 4 keys and their 19 bytes, 9 values, 11 bytes of text ("n=3 name=x", "x").
    assert_eq!(budget.spent(), 4 * VALUE_COST + 19 + 9 * VALUE_COST + 11);
    let paths = template_paths(&t).unwrap();
    assert!(paths.iter().any(|(at, _)| at == "nested[0]"));
    assert_eq!(
        template_paths(&json!({"a": {"b": "{{ nope.x }}"}}))
            .unwrap_err()
            .0,
        "a.b"
    );
    assert!(template_paths(&json!("{{ input.x")).is_err());
}

/// A scope whose `input.a` is 100 KB of text and `input.list` 100,000 zeros.
fn large_input() -> Value {
    json!({"a": "x".repeat(100_000), "list": vec![0; 100_000]})
}

#[test]
fn a_render_over_its_budget_stops_as_soon_as_the_budget_is_spent() {
    let input = large_input();
    let steps = HashMap::new();
    let s = scope_with(&input, &steps, None);
    // Each of these renders to over 10 GB: built whole, the test would run out of memory.
    let copies = "{{ input.a }}".repeat(1000);
    let keys: serde_json::Map<String, Value> = (0..100)
        .map(|i| {
            (
                format!("k{i}"),
                json!({"t": copies.clone(), "whole": "{{ input.a }}"}),
            )
        })
        .collect();
    let list_text = "{{ input.list }}".repeat(100_000);
    let bombs = [
        json!({"interpolated": keys}),
        json!({"whole": vec!["{{ input.a }}"; 200_000]}),
        json!({"list_as_text": list_text}),
        json!({"list_copies": vec!["{{ input.list }}"; 200_000]}),
    ];
    for bomb in bombs {
        let mut budget = Budget::new(1024 * 1024);
        assert_eq!(
            render(&bomb, &s, &mut budget),
            Err(OverBudget { limit: 1024 * 1024 })
        );
        assert_eq!(budget.spent(), budget.limit());
    }
}

#[test]
fn a_copied_value_costs_its_size_in_memory_not_only_its_text() {
    let input = large_input();
    let steps = HashMap::new();
    let s = scope_with(&input, &steps, None);
    // 200 KB of JSON, over 3 MB in memory.
    let t = json!("{{ input.list }}");
    assert!(render(&t, &s, &mut Budget::new(1024 * 1024)).is_err());
    let mut roomy = Budget::new(8 * 1024 * 1024);
    assert_eq!(render(&t, &s, &mut roomy).unwrap(), input["list"]);
    assert_eq!(roomy.spent(), (100_000 + 1) * VALUE_COST);
}

#[test]
fn one_budget_is_shared_by_every_render_that_spends_it() {
    let input = json!({"a": "x".repeat(1000)});
    let steps = HashMap::new();
    let s = scope_with(&input, &steps, None);
    let t = json!("{{ input.a }}");
    let mut budget = Budget::new(10 * 1024);
    let fit = (0..100)
        .take_while(|_| render(&t, &s, &mut budget).is_ok())
        .count();
    assert_eq!(fit, 10 * 1024 / (1000 + VALUE_COST));
}

#[test]
fn conditions_compare_paths_with_literals() {
    let input = json!({"tier": "gold", "flag": true});
    let steps = HashMap::from([("classify".to_owned(), json!({"score": 72, "tags": []}))]);
    let s = scope_with(&input, &steps, None);
    let holds = |c: &str| Condition::parse(c).unwrap().eval(&s);
    assert!(holds("steps.classify.output.score >= 70"));
    assert!(!holds("steps.classify.output.score > 72"));
    assert!(holds("steps.classify.output.score == 72.0"));
    assert!(holds("input.tier == 'gold' and input.flag"));
    assert!(holds(
        "input.tier == \"silver\" or steps.classify.output.score < 100"
    ));
    assert!(!holds("steps.classify.output.tags"));
    assert!(holds("input.missing == null"));
    assert!(!holds("input.tier > 5"), "mixed types never order");
    assert!(holds("input.tier != 5"));
    assert!(holds(
        "(input.tier == 'x' or input.flag) and steps.classify.output.score <= 72"
    ));
    assert!(!holds(
        "input.flag and (input.tier == 'x' or input.missing)"
    ));
}

#[test]
fn malformed_conditions_are_rejected() {
    for bad in [
        "",
        "steps.a.output.x >",
        "steps.a.output.x = 1",
        "input.x == 'open",
        "(input.x == 1",
        "input.x == 1 input.y",
        "70",
        "os.system('rm') == 1",
        "input.x == 1 and",
        "input.x ; drop",
    ] {
        assert!(Condition::parse(bad).is_err(), "{bad:?} parsed");
    }
    let deep = format!("{}input.x{}", "(".repeat(40), ")".repeat(40));
    assert!(Condition::parse(&deep).is_err());
    assert!(Condition::parse(&"input.x == 1 or ".repeat(100)).is_err());
}
