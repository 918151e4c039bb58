//! Database tests of leads: the job's writes, deduplication under concurrency, the status
//! machine with its audit rows, soft delete, settings, export and GDPR.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use crate::{
    audit::{self, Actor},
    auth,
    kinds::score_lead::{self, ScoreLead},
    sources::{
        self, NewSource,
        feed::RawItem,
        ingest::{self, Gates},
        signals::{self, QualitySettings, SignalState},
    },
};

struct World {
    pool: PgPool,
    tenant: Uuid,
    source: Uuid,
}

async fn world(pool: PgPool) -> World {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = auth::ensure_tenant(&mut conn, "acme").await.unwrap();
    let source = sources::create(
        &mut conn,
        tenant,
        &Actor::default(),
        NewSource::try_from(json!({"kind": "push"})).unwrap(),
    )
    .await
    .unwrap()
    .id;
    World {
        pool,
        tenant,
        source,
    }
}

impl World {
    /// Ingests one signal with `text` and returns its id.
    async fn signal(&self, text: &str) -> Uuid {
        self.signal_in(self.source, text).await
    }

    async fn signal_in(&self, source: Uuid, text: &str) -> Uuid {
        let mut conn = self.pool.acquire().await.unwrap();
        let gates = Gates::new(QualitySettings {
            min_length: 0,
            ..QualitySettings::default()
        });
        let item = RawItem {
            title: Some(format!("Signal {}", Uuid::now_v7())),
            content: Some(text.to_owned()),
            ..RawItem::default()
        };
        let report = ingest::store(
            &mut conn,
            self.tenant,
            source,
            &gates,
            ingest::prepare_all(vec![item], None),
        )
        .await
        .unwrap();
        assert_eq!(report.inserted, 1, "{report:?}");
        signals::list(
            &self.pool,
            self.tenant,
            &signals::Filter {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
            .id
    }

    async fn score(&self, signal_id: Uuid, confidence: Option<f64>) -> serde_json::Value {
        score_lead::run(
            &self.pool,
            self.tenant,
            &Actor::default(),
            &ScoreLead {
                signal_id,
                confidence,
                category: Some("solar".into()),
            },
        )
        .await
        .unwrap()
    }

    async fn lead(&self, id: &serde_json::Value) -> LeadDetail {
        get(
            &self.pool,
            self.tenant,
            id.as_str().unwrap().parse().unwrap(),
        )
        .await
        .unwrap()
    }

    async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(self.tenant)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_database_refuses_a_score_outside_0_to_100(pool: PgPool) {
    let w = world(pool).await;
    for (score, ok) in [(100i16, true), (101, false), (-1, false)] {
        let res = sqlx::query(
            "INSERT INTO leads (id, tenant_id, score, factors, key_signal_id) VALUES ($1, $2, $3, '[]', $4)",
        )
        .bind(Uuid::now_v7())
        .bind(w.tenant)
        .bind(score)
        .bind(Uuid::now_v7())
        .execute(&w.pool)
        .await;
        match res {
            Ok(_) => assert!(ok, "{score} was accepted"),
            Err(e) => {
                assert!(!ok, "{score} was refused: {e}");
                let code = e.as_database_error().and_then(|d| d.code()).unwrap();
                assert_eq!(code, "23514", "a CHECK violation");
            }
        }
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn scoring_makes_a_lead_with_its_breakdown_and_moves_a_classified_signal_to_scored(
    pool: PgPool,
) {
    let w = world(pool).await;
    let s = w
        .signal("We need a solar installer for our barn. Mail Jane@Acme-Farms.COM")
        .await;
    let mut conn = w.pool.acquire().await.unwrap();
    signals::transition(
        &mut conn,
        w.tenant,
        &Actor::default(),
        s,
        SignalState::Classified,
        None,
    )
    .await
    .unwrap();
    let out = w.score(s, Some(0.9)).await;
    assert_eq!(out["created"], true, "{out}");
    assert_eq!(out["contact"], "jane@acme-farms.com");
    assert_eq!(out["signal_state"], "scored");
    let score = out["score"].as_i64().unwrap();
    assert!((0..=100).contains(&score));
    // 40×0.9 + 20×~1 + 25×1 + 15×0.5 = 88.5 (recency a hair under 1)
    assert!((88..=89).contains(&score), "{score}");
    let lead = w.lead(&out["lead_id"]).await;
    assert_eq!(lead.lead.score as i64, score);
    assert_eq!(lead.lead.category.as_deref(), Some("solar"));
    assert_eq!(lead.lead.source_id, Some(w.source));
    let factors: Vec<scoring::Factor> = serde_json::from_value(lead.lead.factors.clone()).unwrap();
    assert_eq!(factors.len(), 5);
    assert_eq!(factors[0].value, 0.9);
    assert_eq!(factors[3].name, "contact");
    assert_eq!(factors[3].value, 1.0);
    assert_eq!(lead.signals.len(), 1);
    assert_eq!(
        lead.contacts,
        vec![LeadContact {
            kind: contacts::ContactKind::Email,
            value: "jane@acme-farms.com".into()
        }]
    );
    assert_eq!(
        signals::get(&w.pool, w.tenant, s).await.unwrap().state,
        SignalState::Scored
    );
    // Running the job again changes nothing but the scoring time.
    let again = w.score(s, Some(0.9)).await;
    assert_eq!(again["lead_id"], out["lead_id"]);
    assert_eq!(again["created"], false);
    assert_eq!(
        w.count("SELECT count(*) FROM leads WHERE tenant_id = $1")
            .await,
        1
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_second_signal_with_the_same_contact_attaches_to_the_lead_and_may_raise_its_score(
    pool: PgPool,
) {
    let w = world(pool).await;
    let a = w.signal("Quotes please: bob@roofs.io").await;
    let b = w
        .signal("Still looking! bob@roofs.io or +44 20 7946 0958")
        .await;
    let first = w.score(a, Some(0.2)).await;
    let second = w.score(b, Some(1.0)).await;
    assert_eq!(second["lead_id"], first["lead_id"]);
    assert_eq!(second["created"], false);
    assert!(
        second["score"].as_i64() > first["score"].as_i64(),
        "{first} {second}"
    );
    let lead = w.lead(&first["lead_id"]).await;
    assert_eq!(lead.signals.len(), 2);
    assert_eq!(lead.lead.phone.as_deref(), Some("+442079460958"));
    assert_eq!(lead.contacts.len(), 2);
    // A third signal naming only the phone number finds the same lead through it.
    let c = w.signal("call +44 (0)20 7946 0958 about panels").await;
    let third = w.score(c, Some(0.1)).await;
    assert_eq!(third["lead_id"], first["lead_id"]);
    // The lead keeps its best signal's score: a weaker signal does not lower it.
    assert_eq!(third["score"], second["score"]);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn two_jobs_for_two_signals_with_the_same_email_at_once_make_one_lead(pool: PgPool) {
    let w = world(pool).await;
    for round in 0..8 {
        let a = w
            .signal(&format!("Need a heat pump, write to owner{round}@farm.io"))
            .await;
        let b = w
            .signal(&format!(
                "Our farm office wants prices for solar panels and batteries; owner{round}@FARM.io is the address to use"
            ))
            .await;
        let (ra, rb) = tokio::join!(w.score(a, Some(0.5)), w.score(b, Some(0.6)));
        assert_eq!(ra["lead_id"], rb["lead_id"], "round {round}: {ra} {rb}");
        assert_ne!(
            ra["created"], rb["created"],
            "exactly one made it: {ra} {rb}"
        );
    }
    assert_eq!(
        w.count("SELECT count(*) FROM leads WHERE tenant_id = $1")
            .await,
        8
    );
    assert_eq!(
        w.count("SELECT count(*) FROM lead_signals WHERE tenant_id = $1")
            .await,
        16
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_signal_without_contact_makes_a_lead_of_its_own_once(pool: PgPool) {
    let w = world(pool).await;
    let a = w.signal("Anyone know a good installer near Leeds?").await;
    let b = w.signal("Anyone know a good installer near York?").await;
    let ra = w.score(a, None).await;
    let rb = w.score(b, None).await;
    assert_ne!(ra["lead_id"], rb["lead_id"]);
    assert!(ra["contact"].is_null());
    assert_eq!(w.score(a, None).await["lead_id"], ra["lead_id"]);
    let lead = w.lead(&ra["lead_id"]).await;
    let factors: Vec<scoring::Factor> = serde_json::from_value(lead.lead.factors).unwrap();
    assert_eq!(factors[0].value, 0.0);
    assert!(factors[0].detail.contains("never classified"));
    assert_eq!(factors[3].value, 0.0);
    // A new signal is left `new`: scoring does not skip classification.
    assert_eq!(ra["signal_state"], "new");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn deleted_and_discarded_signals_are_skipped(pool: PgPool) {
    let w = world(pool).await;
    let s = w.signal("mail me: ann@panels.io").await;
    let mut conn = w.pool.acquire().await.unwrap();
    signals::transition(
        &mut conn,
        w.tenant,
        &Actor::default(),
        s,
        SignalState::Discarded,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        w.score(s, None).await,
        json!({"skipped": "the signal is discarded"})
    );
    let gone = w.score(Uuid::now_v7(), None).await;
    assert_eq!(gone, json!({"skipped": "the signal was deleted"}));
    assert_eq!(
        w.count("SELECT count(*) FROM leads WHERE tenant_id = $1")
            .await,
        0
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn status_moves_are_checked_and_each_legal_one_is_audited(pool: PgPool) {
    let w = world(pool).await;
    let s = w.signal("contact: cy@barns.io").await;
    let id: Uuid = w.score(s, Some(0.5)).await["lead_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut conn = w.pool.acquire().await.unwrap();
    let actor = Actor::default();
    let moves = [
        (LeadStatus::Exported, false),
        (LeadStatus::Contacted, true),
        (LeadStatus::New, false),
        (LeadStatus::Qualified, true),
        (LeadStatus::Exported, true),
        (LeadStatus::Rejected, false),
    ];
    for (to, legal) in moves {
        let mut tx = w.pool.begin().await.unwrap();
        let res = set_status(&mut tx, w.tenant, &actor, id, to, Some("checked")).await;
        tx.commit().await.unwrap();
        match res {
            Ok(d) => {
                assert!(legal, "{to:?} was allowed");
                assert_eq!(d.lead.status, to);
            }
            Err(DomainError::Conflict(m)) => assert!(!legal, "{to:?} was refused: {m}"),
            Err(e) => panic!("{e}"),
        }
    }
    let (entries, _) = audit::list(
        &w.pool,
        w.tenant,
        &audit::Filter {
            target: Some(id.to_string()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let moved: Vec<_> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e.action.as_str(),
                e.after.clone().unwrap()["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        moved,
        vec![
            ("lead.status", json!("contacted")),
            ("lead.status", json!("qualified")),
            ("lead.status", json!("exported")),
        ]
    );
    // Another tenant's id, or none at all, is not found.
    let other = auth::ensure_tenant(&mut conn, "globex").await.unwrap();
    let e = set_status(&mut conn, other, &actor, id, LeadStatus::Rejected, None)
        .await
        .unwrap_err();
    assert!(matches!(e, DomainError::NotFound("lead")), "{e}");
    // Verdicts feed the source's reliability.
    let record = scoring::source_record(&mut conn, w.tenant, w.source)
        .await
        .unwrap();
    assert_eq!(record, scoring::SourceRecord { good: 1, bad: 0 });
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_soft_deleted_lead_is_hidden_and_then_not_found(pool: PgPool) {
    let w = world(pool).await;
    let s = w.signal("reach dee@solar.io").await;
    let out = w.score(s, None).await;
    let id: Uuid = out["lead_id"].as_str().unwrap().parse().unwrap();
    let mut tx = w.pool.begin().await.unwrap();
    delete(&mut tx, w.tenant, &Actor::default(), id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let listed = list(
        &w.pool,
        w.tenant,
        &Filter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(listed.items.is_empty());
    assert!(matches!(
        get(&w.pool, w.tenant, id).await,
        Err(DomainError::NotFound(_))
    ));
    let mut conn = w.pool.acquire().await.unwrap();
    assert!(matches!(
        delete(&mut conn, w.tenant, &Actor::default(), id).await,
        Err(DomainError::NotFound(_))
    ));
    // The same contact again attaches to the deleted lead, which stays hidden.
    let again = w
        .score(w.signal("dee@solar.io once more").await, None)
        .await;
    assert_eq!(again["lead_id"], out["lead_id"]);
    assert_eq!(again["lead_deleted"], true);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn settings_are_validated_audited_and_change_later_scores(pool: PgPool) {
    let w = world(pool).await;
    let mut conn = w.pool.acquire().await.unwrap();
    let actor = Actor::default();
    for (patch, path) in [
        (json!({"weight_contact": 101}), "weight_contact"),
        (json!({"weight_recency": "x"}), "weight_recency"),
        (
            json!({"recency_half_life_secs": 10}),
            "recency_half_life_secs",
        ),
        (json!({"default_region": "XX"}), "default_region"),
        (json!({"colour": 1}), "colour"),
        (
            json!({"weight_confidence": 0, "weight_recency": 0, "weight_contact": 0, "weight_source": 0}),
            "",
        ),
    ] {
        match scoring::update_settings(&mut conn, w.tenant, &actor, patch.clone()).await {
            Err(DomainError::Invalid(e)) => assert_eq!(e.path, path, "{patch}: {e}"),
            other => panic!("{patch}: {other:?}"),
        }
    }
    let a = w.signal("one: fay@heat.io").await;
    let before = w.score(a, Some(0.5)).await["score"].as_i64().unwrap();
    let after = scoring::update_settings(
        &mut conn,
        w.tenant,
        &actor,
        json!({"weight_confidence": 100, "weight_recency": 0, "weight_contact": 0, "weight_source": 0, "default_region": "GB"}),
    )
    .await
    .unwrap();
    assert_eq!(after.default_region.as_deref(), Some("GB"));
    let b = w.signal("two: gus@heat.io, 020 7946 0958").await;
    let out = w.score(b, Some(0.5)).await;
    assert_eq!(out["signal_score"], 50);
    assert_ne!(before, 50);
    // The national number was read with the tenant's region.
    let lead = w.lead(&out["lead_id"]).await;
    assert_eq!(lead.lead.phone.as_deref(), Some("+442079460958"));
    let (entries, _) = audit::list(
        &w.pool,
        w.tenant,
        &audit::Filter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "lead_settings.update")
        .expect("the change is audited");
    assert_eq!(entry.before.as_ref().unwrap()["weight_confidence"], 40.0);
    assert_eq!(entry.after.as_ref().unwrap()["weight_confidence"], 100.0);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn filters_and_the_csv_export_agree_and_cells_cannot_run_formulas(pool: PgPool) {
    let w = world(pool).await;
    for (text, confidence) in [
        ("=HYPERLINK(\"x\") a@one.io", 1.0),
        ("b@two.io", 0.0),
        ("+44 20 7946 0958 only", 0.5),
    ] {
        let s = w.signal(text).await;
        w.score(s, Some(confidence)).await;
    }
    let all = list(
        &w.pool,
        w.tenant,
        &Filter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items;
    assert_eq!(all.len(), 3);
    let high = Filter {
        min_score: Some(80),
        limit: 10,
        ..Default::default()
    };
    let listed = list(&w.pool, w.tenant, &high).await.unwrap().items;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].email.as_deref(), Some("a@one.io"));
    let mut stream = export_csv(
        w.pool.clone(),
        w.tenant,
        Filter {
            limit: 1,
            ..Filter::default()
        },
    );
    let mut csv = Vec::new();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        csv.extend(chunk.unwrap());
    }
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], CSV_HEADER.join(","));
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(csv.contains(",'+442079460958,"), "{csv}");
    let filtered = export_csv(w.pool.clone(), w.tenant, high);
    let chunks: Vec<_> = futures::StreamExt::collect::<Vec<_>>(filtered).await;
    assert_eq!(chunks.len(), 2, "the header and one page");
    for (cell, want) in [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("ok", "ok"),
    ] {
        assert_eq!(crate::export::guard(cell), want);
    }
    let bad = Filter {
        min_score: Some(60),
        max_score: Some(10),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(bad.validate().unwrap_err().path, "max_score");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_contact_is_exported_and_erased_with_its_leads_signals_and_copies(pool: PgPool) {
    let w = world(pool).await;
    let a = w.signal("hal@pumps.io wants a quote").await;
    let b = w.signal("hal@pumps.io again, or +44 20 7946 0958").await;
    let other = w
        .signal("ivy@roofs.io says: my neighbour is on +44 20 7946 0958")
        .await;
    let unrelated = w.signal("jo@tiles.io").await;
    let hal = w.score(a, None).await;
    w.score(b, None).await;
    let ivy = w.score(other, None).await;
    w.score(unrelated, None).await;
    let phone =
        contacts::Contact::parse(contacts::ContactKind::Phone, "+442079460958", None).unwrap();
    let mut tx = w.pool.begin().await.unwrap();
    let held = gdpr::export(&mut tx, w.tenant, &Actor::default(), &phone)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let lead_ids: Vec<String> = held.leads.iter().map(|l| l.lead.id.to_string()).collect();
    assert_eq!(
        lead_ids.len(),
        2,
        "hal's lead owns the number, ivy's signal names it"
    );
    assert!(lead_ids.contains(&hal["lead_id"].as_str().unwrap().to_owned()));
    assert!(lead_ids.contains(&ivy["lead_id"].as_str().unwrap().to_owned()));
    let mut signal_ids: Vec<Uuid> = held.signals.iter().map(|s| s.id).collect();
    signal_ids.sort();
    let mut want = vec![a, b, other];
    want.sort();
    assert_eq!(signal_ids, want);

    let mut tx = w.pool.begin().await.unwrap();
    let erased = gdpr::erase(&mut tx, w.tenant, &Actor::default(), &phone)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(erased.signals, 3);
    assert_eq!(
        erased.leads, 2,
        "hal's lead, and ivy's which lost its only signal"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM leads WHERE tenant_id = $1")
            .await,
        1
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM lead_contacts WHERE tenant_id = $1 AND value IN ('hal@pumps.io', '+442079460958')"
        )
        .await,
        0
    );
    assert!(signals::get(&w.pool, w.tenant, unrelated).await.is_ok());
    let mut tx = w.pool.begin().await.unwrap();
    let again = gdpr::export(&mut tx, w.tenant, &Actor::default(), &phone)
        .await
        .unwrap();
    assert!(again.leads.is_empty() && again.signals.is_empty());
    let (entries, _) = audit::list(
        &w.pool,
        w.tenant,
        &audit::Filter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "lead.gdpr_erase")
        .unwrap();
    assert!(entry.target_id.starts_with("sha256:"));
    assert!(!serde_json::to_string(entry).unwrap().contains("7946"));
}
