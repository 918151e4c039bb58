//! The optional Bluesky app-password session against a fake answering as the AT Protocol
//! documents it: `com.atproto.server.createSession` → `{"accessJwt", "refreshJwt", …}`, then
//! `app.bsky.feed.searchPosts` with the `accessJwt` as the bearer.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use wiremock::matchers::{bearer_token, body_json};

use super::*;

#[test]
fn a_bluesky_session_takes_an_identifier_and_an_app_password_together() {
    let bluesky = NewSource::try_from(json!({"kind": "bluesky_search",
        "secret": "abcd-efgh-ijkl-mnop",
        "settings": {"query": "roofer", "identifier": "ann.bsky.social"}}))
    .unwrap();
    assert_eq!(
        bluesky.url.unwrap().as_url().as_str(),
        "https://bsky.social/",
        "a session searches on the authenticated service, not the public AppView"
    );
    assert_eq!(bluesky.settings["session_base"], "https://bsky.social");
    let public =
        NewSource::try_from(json!({"kind": "bluesky_search", "settings": {"query": "roofer"}}))
            .unwrap();
    assert_eq!(
        public.url.unwrap().as_url().as_str(),
        "https://public.api.bsky.app/"
    );

    let cases = [
        (
            json!({"kind": "bluesky_search", "secret": "abcd-efgh-ijkl-mnop", "settings": {"query": "x"}}),
            "secret",
        ),
        (
            json!({"kind": "bluesky_search", "settings": {"query": "x", "identifier": "ann.bsky.social"}}),
            "secret",
        ),
        (
            json!({"kind": "bluesky_search", "settings": {"query": "x", "session_base": "https://pds.example"}}),
            "settings.session_base",
        ),
        (
            json!({"kind": "bluesky_search", "secret": "abcd-efgh-ijkl-mnop", "settings": {"query": "x", "identifier": "a b"}}),
            "settings.identifier",
        ),
    ];
    for (body, path) in cases {
        let e = NewSource::try_from(body.clone()).unwrap_err();
        assert_eq!(e.path, path, "{body} gave {e}");
    }
}

fn jwt(exp: i64) -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        part(json!({"typ": "at+jwt", "alg": "ES256K"})),
        part(
            json!({"scope": "com.atproto.appPass", "sub": "did:plc:ann", "iat": exp - 7200, "exp": exp})
        )
    )
}

#[test]
fn a_bluesky_session_token_lives_until_its_jwt_expires() {
    let now = Utc::now();
    let exp = now.timestamp() + 3600;
    let body = json!({"accessJwt": jwt(exp), "refreshJwt": "r", "did": "did:plc:ann", "handle": "ann.bsky.social"});
    let t = Session::token(&bluesky::BlueskySearch, body.to_string().as_bytes(), now).unwrap();
    assert!(
        (3598..=3600).contains(&t.lifetime.as_secs()),
        "{:?}",
        t.lifetime
    );
    let opaque = json!({"accessJwt": "not-a-jwt"});
    let t = Session::token(&bluesky::BlueskySearch, opaque.to_string().as_bytes(), now).unwrap();
    assert_eq!(
        t.lifetime.as_secs(),
        15 * 60,
        "an unreadable expiry: a short default"
    );
    assert!(
        format!("{t:?}").contains("REDACTED") && !format!("{t:?}").contains("not-a-jwt"),
        "a token never prints: {t:?}"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_bluesky_session_is_created_once_and_its_token_sent_as_the_bearer(pool: PgPool) {
    crate::secrets::install_for_tests();
    let server = MockServer::start().await;
    let password = "abcd-efgh-ijkl-mnop";
    let (tenant, id) = source(
        &pool,
        json!({"kind": "bluesky_search", "rate_limit_per_min": 6000, "secret": password,
               "settings": {"query": "roofer", "identifier": "ann.bsky.social",
                            "session_base": server.uri()}}),
    )
    .await;
    let url: String = sqlx::query_scalar("SELECT url FROM sources WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        url,
        format!("{}/", server.uri()),
        "searched on the session's service"
    );
    let access = jwt(Utc::now().timestamp() + 7200);
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.createSession"))
        .and(body_json(
            json!({"identifier": "ann.bsky.social", "password": password}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accessJwt": access, "refreshJwt": "refresh", "handle": "ann.bsky.social",
            "did": "did:plc:ann", "active": true})))
        .expect(1)
        .mount(&server)
        .await;
    let posts = |n: u64| {
        json!({"posts": [{"uri": format!("at://did:plc:x/app.bsky.feed.post/{n}"),
            "author": {"did": "did:plc:x", "handle": "x.bsky.social"},
            "record": {"text": words(n, 20), "createdAt": format!("2024-03-01T10:00:0{n}Z")},
            "indexedAt": format!("2024-03-01T10:00:0{n}Z"), "likeCount": 1}]})
    };
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.searchPosts"))
        .and(bearer_token(access.as_str()))
        .and(query_param_is_missing("since"))
        .respond_with(ResponseTemplate::new(200).set_body_json(posts(1)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.searchPosts"))
        .and(bearer_token(access.as_str()))
        .and(query_param("since", "2024-03-01T10:00:01.000Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(posts(2)))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = FetchContext::new(pool.clone(), true);
    for _ in 0..2 {
        let out = poll_in(&ctx, tenant, id).await.unwrap();
        assert_eq!(out["inserted"], 1, "{out}");
        assert!(!out.to_string().contains(&access));
    }
    let asked_without_a_bearer = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.url.path().ends_with("searchPosts") && !r.headers.contains_key("authorization")
        })
        .count();
    assert_eq!(asked_without_a_bearer, 0);
}
