-- A tenant's watch over what its sources earn and cost: a threshold on the cost per confirmed
-- lead and/or a negative ROI over a window of days, judged per source by the workers'
-- scheduler. A breach is remembered while it holds, so it alerts once when it begins and again
-- only after it has ended and begun anew.
CREATE TABLE economics_watches (
    tenant_id     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    window_days   integer NOT NULL CHECK (window_days BETWEEN 1 AND 90),
    max_cost_per_confirmed_lead_micros bigint CHECK (max_cost_per_confirmed_lead_micros > 0),
    negative_roi  boolean NOT NULL,
    min_cost_micros bigint NOT NULL CHECK (min_cost_micros >= 0),
    next_check_at timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (negative_roi OR max_cost_per_confirmed_lead_micros IS NOT NULL)
);

CREATE INDEX economics_watches_due ON economics_watches (next_check_at);

CREATE TABLE economics_breaches (
    tenant_id  uuid NOT NULL REFERENCES economics_watches (tenant_id) ON DELETE CASCADE,
    -- no foreign key: a deleted source's breach ends at the next check, not before
    source_id  uuid NOT NULL,
    condition  text NOT NULL CHECK (condition IN ('cost_per_confirmed_lead', 'negative_roi')),
    since      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source_id, condition)
);
