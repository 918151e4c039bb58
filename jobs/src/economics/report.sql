-- The economics report of tenant $1, per $2 ('source', 'category', 'ruleset', 'workflow' or
-- 'day'), over UTC days $3 to $4 (both included; NULL: open). One row per group and currency:
-- money rows carry a currency, activity and cost rows carry ''.
WITH bounds AS (
    SELECT ($3::date)::timestamp AT TIME ZONE 'UTC' AS since,
           ($4::date + 1)::timestamp AT TIME ZONE 'UTC' AS until
),
-- Each lead's attribution: its own source and category, and the ruleset and workflow of the
-- latest verdict on any of its signals.
lead_dims AS (
    SELECT l.id, l.created_at, l.source_id, l.category, c.ruleset_id, c.workflow_id
    FROM leads l
    LEFT JOIN LATERAL (
        SELECT c.ruleset_id, c.workflow_id FROM lead_signals ls
        JOIN classifications c ON c.signal_id = ls.signal_id
        WHERE ls.lead_id = l.id ORDER BY c.created_at DESC, c.id DESC LIMIT 1
    ) c ON true
    WHERE l.tenant_id = $1
),
facts AS (
    SELECT d.day, d.source_id, d.ruleset_id, d.category, d.workflow_id, d.currency,
           0::bigint AS signals, 0::bigint AS keyword, 0::bigint AS llm, 0::bigint AS memo,
           0::bigint AS leads, 0::bigint AS exported, 0::bigint AS confirmed,
           d.paid_calls, d.cost_micros, d.sales, d.sales_cents, d.returns, d.returns_cents
    FROM economics_daily d
    WHERE d.tenant_id = $1
      AND ($3::date IS NULL OR d.day >= $3::date)
      AND ($4::date IS NULL OR d.day <= $4::date)
    UNION ALL
    -- activity is counted per day and attribution first, so the union carries few rows
    SELECT (s.created_at AT TIME ZONE 'UTC')::date, s.source_id, NULL, NULL, NULL, '',
           count(*), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM signals s, bounds b
    WHERE s.tenant_id = $1
      AND (b.since IS NULL OR s.created_at >= b.since)
      AND (b.until IS NULL OR s.created_at < b.until)
    GROUP BY 1, 2
    UNION ALL
    SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.source_id, c.ruleset_id, c.category,
           c.workflow_id, '', 0,
           count(*) FILTER (WHERE c.method = 'keyword'),
           count(*) FILTER (WHERE c.method = 'llm' AND c.llm = 'paid'),
           count(*) FILTER (WHERE c.method = 'llm' AND c.llm = 'memo'),
           0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM classifications c, bounds b
    WHERE c.tenant_id = $1
      AND (b.since IS NULL OR c.created_at >= b.since)
      AND (b.until IS NULL OR c.created_at < b.until)
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    SELECT (l.created_at AT TIME ZONE 'UTC')::date, l.source_id, l.ruleset_id, l.category,
           l.workflow_id, '', 0, 0, 0, 0, count(*), 0, 0, 0, 0, 0, 0, 0, 0
    FROM lead_dims l, bounds b
    WHERE (b.since IS NULL OR l.created_at >= b.since)
      AND (b.until IS NULL OR l.created_at < b.until)
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    -- a lead counts once as exported (on the day a partner first received it) and once as
    -- confirmed (on the day a partner first confirmed it)
    SELECT (x.at AT TIME ZONE 'UTC')::date, l.source_id, l.ruleset_id, l.category,
           l.workflow_id, '', 0, 0, 0, 0, 0, x.exported, x.confirmed, 0, 0, 0, 0, 0, 0
    FROM (
        SELECT e.lead_id, min(e.created_at) AS at, 1 AS exported, 0 AS confirmed
        FROM partner_exports e
        WHERE e.tenant_id = $1 AND e.state IN ('posted', 'accepted', 'converted', 'returned')
        GROUP BY e.lead_id
        UNION ALL
        SELECT e.lead_id, min(e.confirmed_at), 0, 1
        FROM partner_exports e
        WHERE e.tenant_id = $1 AND e.confirmed_at IS NOT NULL
        GROUP BY e.lead_id
    ) x
    JOIN lead_dims l ON l.id = x.lead_id, bounds b
    WHERE (b.since IS NULL OR x.at >= b.since)
      AND (b.until IS NULL OR x.at < b.until)
),
grouped AS (
    SELECT CASE $2::text
               WHEN 'source' THEN f.source_id::text
               WHEN 'category' THEN f.category
               WHEN 'ruleset' THEN f.ruleset_id::text
               WHEN 'workflow' THEN f.workflow_id::text
               ELSE f.day::text
           END AS key,
           f.currency,
           sum(f.signals)::bigint AS signals, sum(f.keyword)::bigint AS keyword,
           sum(f.llm)::bigint AS llm, sum(f.memo)::bigint AS memo,
           sum(f.leads)::bigint AS leads, sum(f.exported)::bigint AS exported,
           sum(f.confirmed)::bigint AS confirmed,
           sum(f.paid_calls)::bigint AS paid_calls, sum(f.cost_micros)::bigint AS cost_micros,
           sum(f.sales)::bigint AS sales, sum(f.sales_cents)::bigint AS sales_cents,
           sum(f.returns)::bigint AS returns, sum(f.returns_cents)::bigint AS returns_cents
    FROM facts f
    GROUP BY 1, 2
)
SELECT g.key,
       CASE $2::text
           WHEN 'source' THEN (SELECT coalesce(s.url, s.kind) FROM sources s
                               WHERE s.tenant_id = $1 AND s.id = g.key::uuid)
           WHEN 'ruleset' THEN (SELECT r.name FROM rulesets r
                                WHERE r.tenant_id = $1 AND r.id = g.key::uuid)
           WHEN 'workflow' THEN (SELECT w.name FROM workflows w
                                 WHERE w.tenant_id = $1 AND w.id = g.key::uuid)
       END AS name,
       g.currency AS "currency!",
       g.signals AS "signals!", g.keyword AS "keyword!", g.llm AS "llm!", g.memo AS "memo!",
       g.leads AS "leads!", g.exported AS "exported!", g.confirmed AS "confirmed!",
       g.paid_calls AS "paid_calls!", g.cost_micros AS "cost_micros!", g.sales AS "sales!",
       g.sales_cents AS "sales_cents!", g.returns AS "returns!",
       g.returns_cents AS "returns_cents!"
FROM grouped g
ORDER BY g.key NULLS LAST, g.currency
LIMIT 100000
