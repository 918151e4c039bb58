//! Unit tests of the mapping, the templates and the settings.

use serde_json::{Value, json};

use super::{
    mapping::{Mapping, Verdict, cents},
    spec::{self, AuthKind, Confirmation, Format, Mode},
};

fn mapping(v: Value) -> Mapping {
    Mapping::parse(v).unwrap()
}

#[test]
fn a_mapping_reads_status_and_body_first_match_wins() {
    let m = mapping(json!({"rules": [
        {"when": {"status": 200, "path": "$.result", "equals": "accepted"},
         "outcome": "accepted", "lead_id": "$.lead_id", "price": "/price"},
        {"when": {"path": "/result", "in": ["dupe", "duplicate"]}, "outcome": "duplicate"},
        {"when": {"status": "4xx"}, "outcome": "rejected", "reason": "$.error.message"},
        {"when": {"status": {"min": 500, "max": 599}}, "outcome": "error"}
    ], "default": "error"}));
    let r = m.read(
        200,
        br#"{"result": "ACCEPTED", "lead_id": 77, "price": "12.5"}"#,
    );
    assert_eq!(r.verdict, Verdict::Accepted);
    assert_eq!(r.lead_id.as_deref(), Some("77"));
    assert_eq!(r.price_cents, Some(1250));
    let r = m.read(200, br#"{"result": "dupe"}"#);
    assert_eq!(r.verdict, Verdict::Duplicate);
    let r = m.read(422, br#"{"error": {"message": "bad zip"}}"#);
    assert_eq!(r.verdict, Verdict::Rejected);
    assert_eq!(r.reason.as_deref(), Some("bad zip"));
    assert_eq!(m.read(503, b"<html>down</html>").verdict, Verdict::Error);
    // No rule matches a 200 with another result: the default.
    assert_eq!(
        m.read(200, br#"{"result": "pending"}"#).verdict,
        Verdict::Error
    );
}

#[test]
fn without_rules_the_status_decides() {
    let m = mapping(json!({}));
    assert_eq!(m.read(201, b"").verdict, Verdict::Accepted);
    assert_eq!(m.read(409, b"").verdict, Verdict::Duplicate);
    assert_eq!(m.read(400, b"").verdict, Verdict::Rejected);
    assert_eq!(m.read(429, b"").verdict, Verdict::Error);
    assert_eq!(m.read(500, b"").verdict, Verdict::Error);
    let d = Mapping::default();
    let r = d.read(200, br#"{"lead_id": "p-1", "price": 30, "bid_id": "b"}"#);
    assert_eq!(
        (
            r.verdict,
            r.lead_id.as_deref(),
            r.price_cents,
            r.bid_id.as_deref()
        ),
        (Verdict::Accepted, Some("p-1"), Some(3000), Some("b"))
    );
}

#[test]
fn hostile_bodies_never_break_a_reading() {
    let m = Mapping::default();
    for body in [
        &b"\xff\xfe not utf8"[..],
        b"[[[[[[[[[[",
        b"{\"lead_id\": {\"deep\": 1}, \"price\": -5}",
        b"{\"price\": \"1e400\"}",
        b"{\"price\": 99999999999999999999}",
    ] {
        let r = m.read(200, body);
        assert_eq!(r.verdict, Verdict::Accepted);
        assert_eq!(r.lead_id, None);
        assert_eq!(r.price_cents, None, "{:?}", String::from_utf8_lossy(body));
    }
}

#[test]
fn prices_become_integer_cents_without_floating_point() {
    assert_eq!(cents(&json!(12)), Some(1200));
    assert_eq!(cents(&json!(12.34)), Some(1234));
    assert_eq!(cents(&json!("0.1")), Some(10));
    assert_eq!(cents(&json!("19.995")), Some(2000));
    assert_eq!(cents(&json!("19.994")), Some(1999));
    for bad in [
        json!(-1),
        json!("abc"),
        json!("1.2.3"),
        json!(null),
        json!(".5"),
        json!(""),
    ] {
        assert_eq!(cents(&bad), None, "{bad}");
    }
}

#[test]
fn bad_mappings_are_refused_with_their_path() {
    let bad = [
        (json!({"rules": [{"outcome": "sold"}]}), "rules[0].outcome"),
        (
            json!({"rules": [{"when": {"status": 700}, "outcome": "accepted"}]}),
            "rules[0].when.status",
        ),
        (
            json!({"rules": [{"when": {"status": "2yy"}, "outcome": "accepted"}]}),
            "rules[0].when.status",
        ),
        (
            json!({"rules": [{"when": {"equals": 1}, "outcome": "accepted"}]}),
            "rules[0].when.path",
        ),
        (
            json!({"rules": [{"outcome": "accepted", "lead_id": "lead_id"}]}),
            "rules[0].lead_id",
        ),
        (
            json!({"rules": [{"when": {"path": "/a", "in": []}, "outcome": "accepted"}]}),
            "rules[0].when.in",
        ),
        (json!({"rules": [], "code": "eval()"}), ""),
    ];
    for (m, path) in bad {
        let e = Mapping::parse(m.clone()).unwrap_err();
        assert!(e.path.starts_with(path), "{m}: {e}");
    }
    let many: Vec<Value> = (0..21).map(|_| json!({"outcome": "error"})).collect();
    assert_eq!(
        Mapping::parse(json!({ "rules": many })).unwrap_err().path,
        "rules"
    );
}

fn context() -> Value {
    spec::sample_context()
}

#[test]
fn json_bodies_keep_every_value_inside_its_field() {
    let template = json!({"name": "{{ lead.email }}", "score": "{{ lead.score }}",
                          "nested": {"phone": "{{ contacts[1].value }}"}, "fixed": 3});
    spec::check_body(&template, Format::Json).unwrap();
    let mut ctx = context();
    ctx["lead"]["email"] = json!("\", \"admin\": true, \"x\": \"");
    let body = spec::render_body(&template, Format::Json, &ctx).unwrap();
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed["name"], json!("\", \"admin\": true, \"x\": \""));
    assert_eq!(parsed.get("admin"), None);
    assert_eq!(parsed["score"], json!("82"));
    assert_eq!(parsed["nested"]["phone"], json!("+14155550100"));
    assert_eq!(parsed["fixed"], json!(3));
}

#[test]
fn form_bodies_are_url_encoded() {
    let template = json!({"email": "{{ lead.email }}", "note": "a&b={{ lead.score }}"});
    spec::check_body(&template, Format::Form).unwrap();
    let body = spec::render_body(&template, Format::Form, &context()).unwrap();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "email=jane%40example.com&note=a%26b%3D82"
    );
    // Forms are flat.
    assert!(spec::check_body(&json!({"a": {"b": "x"}}), Format::Form).is_err());
}

#[test]
fn bad_templates_are_refused_at_save_time() {
    let endless =
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
    let bad = [
        json!("not an object"),
        json!({"a": "{{ unclosed"}),
        json!({"a": "{% set x = 1 %}"}),
        json!({"a": "{{ 'x' * 1000000 }}"}),
        json!({"a": endless}),
        json!({"a": "{% include 'other' %}"}),
        json!({"a": "x".repeat(9000)}),
    ];
    for t in bad {
        assert!(spec::check_body(&t, Format::Json).is_err(), "{t}");
    }
    let wide: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("f{i}"), json!("x"))).collect();
    assert!(spec::check_body(&Value::Object(wide), Format::Json).is_err());
}

fn partner(extra: Value) -> Value {
    let mut v = json!({
        "name": "SolarCo", "mode": "direct", "post_url": "https://buyer.example.com/leads",
        "template": {"email": "{{ lead.email }}"},
        "auth": {"kind": "header", "header": "X-Api-Key", "token": "tok-secret-123"},
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

#[test]
fn settings_parse_with_defaults_and_secrets_kept_apart() {
    crate::secrets::install_for_tests();
    let (spec, secrets) = spec::parse(partner(json!({})), None, false).unwrap();
    assert_eq!(spec.mode, Mode::Direct);
    assert_eq!(spec.config.format, Format::Json);
    assert_eq!(spec.config.confirmation, Confirmation::Sync);
    assert_eq!(spec.config.auth, AuthKind::Header);
    assert_eq!(spec.currency, "USD");
    assert!(spec.routing.exclusive);
    let shown = serde_json::to_string(&spec.config).unwrap();
    assert!(!shown.contains("tok-secret-123"), "{shown}");
    assert!(!format!("{secrets:?}").contains("tok-secret-123"));
    let sealed = secrets.seal().unwrap();
    assert!(!sealed.contains("tok-secret-123"));
    let opened = spec::Secrets::open(&sealed).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(opened.auth.unwrap().expose_secret(), "tok-secret-123");
    assert!(opened.postback_secret.expose_secret().starts_with("whsec_"));
}

#[test]
fn a_patch_keeps_what_it_does_not_name() {
    crate::secrets::install_for_tests();
    let (spec, secrets) = spec::parse(partner(json!({"daily_cap": 5})), None, false).unwrap();
    use secrecy::ExposeSecret;
    let postback = secrets.postback_secret.expose_secret().to_owned();
    let (patched, kept) =
        spec::parse(json!({"daily_cap": 9}), Some((&spec, secrets)), false).unwrap();
    assert_eq!(patched.daily_cap, Some(9));
    assert_eq!(patched.config.auth, AuthKind::Header);
    assert_eq!(kept.auth.unwrap().expose_secret(), "tok-secret-123");
    assert_eq!(kept.postback_secret.expose_secret(), postback);
}

#[test]
fn bad_settings_name_their_field() {
    crate::secrets::install_for_tests();
    let bad = [
        (json!({"post_url": "http://buyer.example.com"}), "post_url"),
        (json!({"post_url": "https://127.0.0.1/x"}), "post_url"),
        (json!({"mode": "ping_post"}), "ping_url"),
        (json!({"mode": "auction"}), "mode"),
        (json!({"currency": "usd"}), "currency"),
        (json!({"daily_cap": 0}), "daily_cap"),
        (
            json!({"routing": {"min_score": 90, "max_score": 10}}),
            "routing.max_score",
        ),
        (json!({"routing": {"regions": ["usa"]}}), "routing.regions"),
        (
            json!({"auth": {"kind": "header", "header": "Host", "token": "t"}}),
            "auth.header",
        ),
        (
            json!({"auth": {"kind": "basic", "username": "a:b", "password": "p"}}),
            "auth.username",
        ),
        (json!({"template": {"a": "{{ x"}}), "template.a"),
        (
            json!({"mapping": {"rules": [{"outcome": "maybe"}]}}),
            "mapping.rules[0].outcome",
        ),
        (json!({"name": "a\u{0}b"}), "name"),
    ];
    for (extra, path) in bad {
        let e = spec::parse(partner(extra.clone()), None, false).unwrap_err();
        assert!(e.path.starts_with(path), "{extra}: {e}");
    }
}
