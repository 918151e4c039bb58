//! The receiver the alerts reach (hyper on 127.0.0.1, noting each request's arrival and
//! `webhook-id`), and the floor: the same receiver hit by signed POSTs from one process.

use super::*;

/// One request the receiver saw.
pub(crate) struct Hit {
    pub(crate) id: String,
    pub(crate) at: DateTime<Utc>,
}

/// What the receiver saw: every request's id and arrival, and the first request whole.
#[derive(Default)]
pub(crate) struct Received {
    pub(crate) hits: Vec<Hit>,
    pub(crate) sample: Option<(HeaderMap, Bytes)>,
}

pub(crate) type Shared = Arc<Mutex<Received>>;

/// A receiver on 127.0.0.1 answering 204 to everything, noting when each request's head
/// arrived and its `webhook-id`.
pub(crate) async fn receiver(state: Shared) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    async move {
                        let at = Utc::now();
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes());
                        let id = parts
                            .headers
                            .get(sw::ID_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let mut seen = state.lock().await;
                        if seen.sample.is_none()
                            && let Ok(body) = body
                        {
                            seen.sample = Some((parts.headers, body));
                        }
                        seen.hits.push(Hit { id, at });
                        drop(seen);
                        let mut answer = Response::new(Empty::<Bytes>::new());
                        *answer.status_mut() = StatusCode::NO_CONTENT;
                        Ok::<_, Infallible>(answer)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Waits until the receiver has seen `n` requests (at most `limit`).
pub(crate) async fn wait_for(state: &Shared, n: usize, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let seen = state.lock().await.hits.len();
        if seen >= n {
            return Ok(());
        }
        if started.elapsed() > limit {
            bail!("the receiver saw {seen} of {n} alerts after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `n` signed POSTs of `body` to `url`, `concurrency` at once; the time they took.
pub(crate) async fn floor(
    url: &str,
    secret: &SecretString,
    body: Bytes,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let secrets = [secret.clone()];
    let started = Instant::now();
    let answers: Vec<anyhow::Result<u16>> = stream::iter(0..n)
        .map(|_| {
            let (http, body, secrets) = (&http, body.clone(), &secrets);
            async move {
                let id = Uuid::now_v7().to_string();
                let timestamp = Utc::now().timestamp();
                let signature = sw::sign(secrets, &id, timestamp, &body)?;
                let answer = http
                    .post(url)
                    .header(sw::ID_HEADER, &id)
                    .header(sw::TIMESTAMP_HEADER, timestamp)
                    .header(sw::SIGNATURE_HEADER, signature)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                Ok(answer.status().as_u16())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let took = started.elapsed();
    for answer in answers {
        let status = answer?;
        if status != 204 {
            bail!("the floor's POST was answered {status}");
        }
    }
    Ok(took)
}

/// Whether the `webhook-signature` of a received request verifies with `secret`.
pub(crate) fn verifies(headers: &HeaderMap, body: &[u8], secret: &SecretString) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(Ok(timestamp)), Some(signature)) = (
        get(sw::ID_HEADER),
        get(sw::TIMESTAMP_HEADER).map(str::parse::<i64>),
        get(sw::SIGNATURE_HEADER),
    ) else {
        return false;
    };
    sw::sign(std::slice::from_ref(secret), id, timestamp, body)
        .is_ok_and(|expected| signature.split(' ').any(|s| s == expected))
}
