-- Economics (issue 20): what each source earns and costs.
--
-- Attribution at write time: every cost row and every revenue row names the source, ruleset,
-- category and workflow of the signal that caused it, filled by the statement that writes the
-- row (the reservation carries them from the job to its settle and release rows; a sale takes
-- them from its lead and the lead's latest verdict, a return from its sale). A GDPR erase keeps
-- the money rows and drops their personal link: `cost_ledger.signal_id` and
-- `revenue_ledger.lead_id` become NULL when the signal or the lead is deleted (foreign keys
-- `ON DELETE SET NULL`), while source, ruleset, category and workflow stay.
--
-- Units: cost in integer micro-dollars (USD); revenue in integer cents of the partner's currency.
-- No conversion between currencies is made anywhere.
--
-- The report reads money from `economics_daily`, a rollup per tenant × UTC day × attribution ×
-- currency, maintained by triggers in the transaction that writes each ledger row — so a report
-- over a million ledger rows reads a few hundred rollup rows instead.

-- The classify job's workflow (through its run), for counting verdicts per workflow.
ALTER TABLE classifications ADD COLUMN workflow_id uuid;
UPDATE classifications c SET workflow_id = r.workflow_id
FROM jobs j JOIN workflow_runs r ON r.id = j.run_id
WHERE j.id = c.job_id;

ALTER TABLE budget_reservations
    ADD COLUMN signal_id   uuid,
    ADD COLUMN source_id   uuid,
    ADD COLUMN ruleset_id  uuid,
    ADD COLUMN workflow_id uuid;

ALTER TABLE cost_ledger
    ADD COLUMN signal_id   uuid,
    ADD COLUMN source_id   uuid,
    ADD COLUMN ruleset_id  uuid,
    -- the verdict's category: set in the transaction that stores the verdict of the paid call
    ADD COLUMN category    text CHECK (length(category) <= 100),
    ADD COLUMN workflow_id uuid;

ALTER TABLE revenue_ledger
    ADD COLUMN source_id   uuid,
    ADD COLUMN ruleset_id  uuid,
    ADD COLUMN category    text CHECK (length(category) <= 100),
    ADD COLUMN workflow_id uuid;

-- Backfill what can be joined: a classify job's args name its signal and ruleset.
UPDATE cost_ledger l SET
    signal_id   = s.id,
    source_id   = s.source_id,
    ruleset_id  = (j.args ->> 'ruleset_id')::uuid,
    workflow_id = r.workflow_id
FROM jobs j
LEFT JOIN signals s ON s.id = (j.args ->> 'signal_id')::uuid AND s.tenant_id = j.tenant_id
LEFT JOIN workflow_runs r ON r.id = j.run_id
WHERE j.id = l.job_id AND j.kind = 'classify_signal';
UPDATE cost_ledger l SET category = c.category
FROM classifications c
WHERE c.job_id = l.job_id AND c.signal_id = l.signal_id;

UPDATE revenue_ledger v SET
    source_id   = l.source_id,
    category    = l.category,
    ruleset_id  = c.ruleset_id,
    workflow_id = c.workflow_id
FROM leads l
LEFT JOIN LATERAL (
    SELECT c.ruleset_id, c.workflow_id FROM lead_signals ls
    JOIN classifications c ON c.signal_id = ls.signal_id
    WHERE ls.lead_id = l.id ORDER BY c.created_at DESC, c.id DESC LIMIT 1
) c ON true
WHERE l.id = v.lead_id;

-- The personal links: gone with the signal or the lead (a revenue row of a lead already gone
-- loses its dangling id first).
UPDATE revenue_ledger v SET lead_id = NULL
WHERE lead_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = v.lead_id);
ALTER TABLE revenue_ledger ADD CONSTRAINT revenue_ledger_lead
    FOREIGN KEY (lead_id) REFERENCES leads (id) ON DELETE SET NULL;
CREATE INDEX revenue_ledger_lead ON revenue_ledger (lead_id) WHERE lead_id IS NOT NULL;
UPDATE cost_ledger l SET signal_id = NULL
WHERE signal_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM signals s WHERE s.id = l.signal_id);
ALTER TABLE cost_ledger ADD CONSTRAINT cost_ledger_signal
    FOREIGN KEY (signal_id) REFERENCES signals (id) ON DELETE SET NULL;
CREATE INDEX cost_ledger_signal ON cost_ledger (signal_id) WHERE signal_id IS NOT NULL;

-- The money rollup. `currency` is '' on cost rows (cost is always micro-dollars) and the
-- revenue's currency on revenue rows.
CREATE TABLE economics_daily (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day            date NOT NULL,
    source_id      uuid,
    ruleset_id     uuid,
    category       text,
    workflow_id    uuid,
    currency       text NOT NULL DEFAULT '',
    -- settled paid calls and what they cost
    paid_calls     bigint NOT NULL DEFAULT 0,
    cost_micros    bigint NOT NULL DEFAULT 0,
    sales          bigint NOT NULL DEFAULT 0,
    sales_cents    bigint NOT NULL DEFAULT 0,
    returns        bigint NOT NULL DEFAULT 0,
    -- negative or zero
    returns_cents  bigint NOT NULL DEFAULT 0,
    CONSTRAINT economics_daily_key UNIQUE NULLS NOT DISTINCT
        (tenant_id, day, source_id, ruleset_id, category, workflow_id, currency)
);

CREATE FUNCTION economics_cost_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economics_daily AS d (tenant_id, day, source_id, ruleset_id, category, workflow_id,
                                      currency, paid_calls, cost_micros)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, source_id, ruleset_id, category, workflow_id,
           '', count(*), sum(amount_micros)
    FROM added WHERE entry = 'settle'
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ON CONSTRAINT economics_daily_key DO UPDATE
        SET paid_calls = d.paid_calls + excluded.paid_calls,
            cost_micros = d.cost_micros + excluded.cost_micros;
    RETURN NULL;
END;
$$;
CREATE TRIGGER cost_ledger_economics AFTER INSERT ON cost_ledger
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION economics_cost_inserted();

-- A settled row whose attribution changes (its category, set once the verdict is stored)
-- moves its money from the old key to the new one.
CREATE FUNCTION economics_cost_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE economics_daily d
    SET paid_calls = d.paid_calls - 1, cost_micros = d.cost_micros - OLD.amount_micros
    WHERE d.tenant_id = OLD.tenant_id AND d.day = (OLD.at AT TIME ZONE 'UTC')::date
      AND d.source_id IS NOT DISTINCT FROM OLD.source_id
      AND d.ruleset_id IS NOT DISTINCT FROM OLD.ruleset_id
      AND d.category IS NOT DISTINCT FROM OLD.category
      AND d.workflow_id IS NOT DISTINCT FROM OLD.workflow_id
      AND d.currency = '';
    INSERT INTO economics_daily AS d (tenant_id, day, source_id, ruleset_id, category, workflow_id,
                                      currency, paid_calls, cost_micros)
    VALUES (NEW.tenant_id, (NEW.at AT TIME ZONE 'UTC')::date, NEW.source_id, NEW.ruleset_id,
            NEW.category, NEW.workflow_id, '', 1, NEW.amount_micros)
    ON CONFLICT ON CONSTRAINT economics_daily_key DO UPDATE
        SET paid_calls = d.paid_calls + 1, cost_micros = d.cost_micros + excluded.cost_micros;
    RETURN NULL;
END;
$$;
CREATE TRIGGER cost_ledger_economics_moved AFTER UPDATE OF source_id, ruleset_id, category, workflow_id
    ON cost_ledger FOR EACH ROW
    WHEN (OLD.entry = 'settle' AND (OLD.source_id IS DISTINCT FROM NEW.source_id
          OR OLD.ruleset_id IS DISTINCT FROM NEW.ruleset_id
          OR OLD.category IS DISTINCT FROM NEW.category
          OR OLD.workflow_id IS DISTINCT FROM NEW.workflow_id))
    EXECUTE FUNCTION economics_cost_moved();

CREATE FUNCTION economics_revenue_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economics_daily AS d (tenant_id, day, source_id, ruleset_id, category, workflow_id,
                                      currency, sales, sales_cents, returns, returns_cents)
    SELECT tenant_id, day, source_id, ruleset_id, category, workflow_id, currency,
           count(*) FILTER (WHERE kind = 'sale'),
           coalesce(sum(amount_cents) FILTER (WHERE kind = 'sale'), 0),
           count(*) FILTER (WHERE kind = 'return'),
           coalesce(sum(amount_cents) FILTER (WHERE kind = 'return'), 0)
    FROM added
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ON CONSTRAINT economics_daily_key DO UPDATE
        SET sales = d.sales + excluded.sales,
            sales_cents = d.sales_cents + excluded.sales_cents,
            returns = d.returns + excluded.returns,
            returns_cents = d.returns_cents + excluded.returns_cents;
    RETURN NULL;
END;
$$;
CREATE TRIGGER revenue_ledger_economics AFTER INSERT ON revenue_ledger
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION economics_revenue_inserted();

-- The rollup of what is there already.
INSERT INTO economics_daily (tenant_id, day, source_id, ruleset_id, category, workflow_id,
                             currency, paid_calls, cost_micros)
SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, source_id, ruleset_id, category, workflow_id, '',
       count(*), sum(amount_micros)
FROM cost_ledger WHERE entry = 'settle'
GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO economics_daily (tenant_id, day, source_id, ruleset_id, category, workflow_id,
                             currency, sales, sales_cents, returns, returns_cents)
SELECT tenant_id, day, source_id, ruleset_id, category, workflow_id, currency,
       count(*) FILTER (WHERE kind = 'sale'),
       coalesce(sum(amount_cents) FILTER (WHERE kind = 'sale'), 0),
       count(*) FILTER (WHERE kind = 'return'),
       coalesce(sum(amount_cents) FILTER (WHERE kind = 'return'), 0)
FROM revenue_ledger
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- The activity counted beside the money, by time.
CREATE INDEX leads_tenant_created ON leads (tenant_id, created_at);
CREATE INDEX partner_exports_tenant_lead ON partner_exports (tenant_id, lead_id);
