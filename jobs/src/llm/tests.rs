use super::*;

fn cats() -> Vec<String> {
    vec!["plumbing".into(), "solar".into()]
}

#[test]
fn prices_round_up_to_a_whole_micro_dollar() {
    let p = Price {
        input_per_mtok_micros: 150_000,
        output_per_mtok_micros: 600_000,
    };
    assert_eq!(p.cost(1000, 100), 150 + 60);
    assert_eq!(p.cost(1, 0), 1);
    assert_eq!(p.cost(0, 0), 0);
    assert_eq!(estimate_tokens(9), 3);
}

#[test]
fn the_price_table_is_checked() {
    assert!(
        Prices::parse(r#"{"m": {"input_per_mtok_micros": 1, "output_per_mtok_micros": 2}}"#)
            .is_ok()
    );
    assert!(
        Prices::parse(r#"{"m": {"input_per_mtok_micros": -1, "output_per_mtok_micros": 2}}"#)
            .is_err()
    );
    assert!(Prices::parse(r#"{"m": {"input": 1}}"#).is_err());
    assert!(Prices::parse("nope").is_err());
}

#[test]
fn answers_are_checked_against_the_categories() {
    let ok = parse_answer(
        r#"{"relevant": true, "category": "solar", "confidence": 0.9, "reasons": ["asks for a quote"]}"#,
        &cats(),
    )
    .unwrap();
    assert!(ok.relevant);
    assert_eq!(ok.category.as_deref(), Some("solar"));
    let fenced = "```json\n{\"relevant\": false, \"category\": null, \"confidence\": 0.2, \"reasons\": []}\n```";
    assert!(parse_answer(fenced, &cats()).is_ok());
    for bad in [
        r#"{"relevant": true, "category": "roofing", "confidence": 0.9, "reasons": []}"#,
        r#"{"relevant": "yes", "category": null, "confidence": 0.9, "reasons": []}"#,
        r#"{"relevant": true, "category": null, "confidence": 1.5, "reasons": []}"#,
        r#"{"label": "solar"}"#,
        r#"{"relevant": true, "category": "solar", "confid"#,
        "[]",
    ] {
        assert!(parse_answer(bad, &cats()).is_err(), "{bad}");
    }
}

#[test]
fn replies_keep_their_usage_even_when_the_answer_is_invalid() {
    let body = json!({
        "id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "not json"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127}
    });
    let reply = parse_reply(body.to_string().as_bytes(), &cats());
    assert_eq!(
        reply.usage,
        Some(TokenUsage {
            prompt_tokens: 120,
            completion_tokens: 7
        })
    );
    assert_eq!(reply.answer.unwrap_err().content, "not json");
    let reply = parse_reply(b"<html>", &cats());
    assert!(reply.usage.is_none() && reply.answer.is_err());
    let reply = parse_reply(br#"{"unexpected": true}"#, &cats());
    assert!(reply.answer.unwrap_err().why.contains("choices"));
}

#[test]
fn status_failures_say_whether_to_retry() {
    let f = status_failure(
        StatusCode::TOO_MANY_REQUESTS,
        Some(Duration::from_secs(3)),
        b"slow down",
    );
    assert!(f.retryable);
    assert_eq!(f.retry_after, Some(Duration::from_secs(3)));
    assert!(status_failure(StatusCode::INTERNAL_SERVER_ERROR, None, b"").retryable);
    let f = status_failure(
        StatusCode::UNAUTHORIZED,
        Some(Duration::from_secs(3)),
        b"bad key",
    );
    assert!(!f.retryable && f.retry_after.is_none());
}

#[test]
fn settings_debug_hides_the_key() {
    let s = LlmSettings {
        base_url: Some(Url::parse("https://llm.example/v1").unwrap()),
        api_key: Some(SecretString::from("sk-hunter2".to_owned())),
        model: "m".into(),
        provider: "openai".into(),
        timeout: Duration::from_secs(1),
        max_tokens: 100,
        response_format: ResponseFormat::JsonSchema,
        prices: Prices::default(),
        allow_private: false,
        rate_limit_per_min: None,
    };
    assert!(!format!("{s:?}").contains("hunter2"));
}

/// A local model (on loopback) is reached only when the LLM's own allow-list says so; the
/// guard of tenants' jobs is another setting.
#[tokio::test]
async fn a_local_model_is_reached_only_with_llm_allow_private() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
    let server = MockServer::start().await;
    let answer = json!({"relevant": true, "category": "solar", "confidence": 0.9, "reasons": []});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"role": "assistant", "content": answer.to_string()}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5}
        })))
        .mount(&server)
        .await;
    let settings = |allow_private| LlmSettings {
        base_url: Some(Url::parse(&format!("{}/v1", server.uri())).unwrap()),
        model: "m".into(),
        allow_private,
        ..LlmSettings::default()
    };
    let ask = |client: LlmClient| async move {
        client
            .chat(&[Message::new("user", "hi")], &cats(), "idem")
            .await
    };
    let refused = ask(LlmClient::new(settings(false), false).unwrap())
        .await
        .unwrap_err();
    assert_eq!(refused.outcome, "refused", "{refused:?}");
    assert!(!refused.retryable);
    let reply = ask(LlmClient::new(settings(true), false).unwrap())
        .await
        .unwrap();
    assert!(reply.answer.unwrap().relevant);
    // ALLOW_PRIVATE_NETWORKS opens every client, this one included.
    assert!(
        ask(LlmClient::new(settings(false), true).unwrap())
            .await
            .is_ok()
    );
}
