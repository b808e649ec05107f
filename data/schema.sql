-- CS Ops Console data contract: the canonical tables every import and the demo fill.
-- The loader creates exactly these tables, then checks each source file against them.

CREATE TABLE csms (
    csm_id          VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    email           VARCHAR,
    team            VARCHAR NOT NULL,
    manager_id      VARCHAR,
    region          VARCHAR,
    role            VARCHAR NOT NULL CHECK (role IN ('CSM', 'Manager', 'Director')),
    hire_date       DATE,
    end_date        DATE,
    capacity_points DOUBLE
);

CREATE TABLE accounts (
    account_id      VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    segment         VARCHAR NOT NULL CHECK (segment IN ('SMB', 'Mid-Market', 'Enterprise')),
    region          VARCHAR NOT NULL,
    industry        VARCHAR,
    coverage_tier   VARCHAR NOT NULL CHECK (coverage_tier IN ('tech-touch', 'pooled', 'named')),
    owner_csm_id    VARCHAR,
    created_date    DATE NOT NULL,
    lifecycle_stage VARCHAR CHECK (lifecycle_stage IN ('onboarding', 'adoption', 'value', 'renewal', 'churned')),
    plan            VARCHAR,
    seats_purchased INTEGER
);

CREATE TABLE contracts (
    contract_id VARCHAR PRIMARY KEY,
    account_id  VARCHAR NOT NULL,
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL,
    arr         DOUBLE NOT NULL CHECK (arr >= 0),
    seats       INTEGER,
    CHECK (end_date > start_date)
);

CREATE TABLE renewals (
    renewal_id         VARCHAR PRIMARY KEY,
    account_id         VARCHAR NOT NULL,
    contract_id        VARCHAR,
    renewal_date       DATE NOT NULL,
    arr_up_for_renewal DOUBLE NOT NULL CHECK (arr_up_for_renewal >= 0),
    forecast_category  VARCHAR CHECK (forecast_category IN ('commit', 'probable', 'at_risk', 'churn')),
    risk_reason        VARCHAR,
    has_close_plan     BOOLEAN,
    outcome            VARCHAR NOT NULL CHECK (outcome IN ('open', 'renewed', 'contracted', 'expanded', 'churned')),
    renewed_arr        DOUBLE,
    closed_date        DATE
);

-- The CSM's call on each open renewal, week by week (one row per open renewal per snapshot):
-- the audit trail of forecast calls, and what a past as-of date shows as the call then.
-- Optional: without it, calls are known only as of the build's date (renewals' own fields).
CREATE TABLE renewal_forecast_history (
    renewal_id        VARCHAR NOT NULL,
    snapshot_date     DATE NOT NULL,
    forecast_category VARCHAR CHECK (forecast_category IN ('commit', 'probable', 'at_risk', 'churn')),
    arr_up            DOUBLE CHECK (arr_up >= 0),
    risk_reason       VARCHAR,
    PRIMARY KEY (renewal_id, snapshot_date)
);

-- Who owned each account when (a CRM's owner-field history): [valid_from, valid_to), valid_to
-- empty for the current owner. Intervals of one account may not overlap; a gap means nobody
-- owned it then. Optional: without it (or for an account it does not list), the account's
-- current owner (accounts.owner_csm_id) is taken to have owned it all along.
CREATE TABLE account_owner_history (
    account_id   VARCHAR NOT NULL,
    owner_csm_id VARCHAR,
    valid_from   DATE NOT NULL,
    valid_to     DATE,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    PRIMARY KEY (account_id, valid_from)
);

CREATE TABLE expansions (
    opportunity_id VARCHAR PRIMARY KEY,
    account_id     VARCHAR NOT NULL,
    type           VARCHAR,
    stage          VARCHAR,
    amount_arr     DOUBLE,
    created_date   DATE,
    close_date     DATE,
    outcome        VARCHAR CHECK (outcome IN ('open', 'won', 'lost'))
);

CREATE TABLE usage_daily (
    account_id     VARCHAR NOT NULL,
    day            DATE NOT NULL,
    active_users   INTEGER NOT NULL CHECK (active_users >= 0),
    events         INTEGER,
    features_used  INTEGER
);

CREATE TABLE tickets (
    ticket_id  VARCHAR PRIMARY KEY,
    account_id VARCHAR NOT NULL,
    opened_at  TIMESTAMP NOT NULL,
    closed_at  TIMESTAMP,
    priority   VARCHAR CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
    category   VARCHAR,
    escalated  BOOLEAN
);

CREATE TABLE nps_responses (
    response_id  VARCHAR PRIMARY KEY,
    account_id   VARCHAR NOT NULL,
    responded_at TIMESTAMP NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment      VARCHAR
);

CREATE TABLE touchpoints (
    touchpoint_id VARCHAR PRIMARY KEY,
    account_id    VARCHAR NOT NULL,
    csm_id        VARCHAR,
    occurred_at   TIMESTAMP NOT NULL,
    type          VARCHAR,
    channel       VARCHAR
);

CREATE TABLE meta (
    build_id       VARCHAR NOT NULL,
    built_at       TIMESTAMP NOT NULL,
    as_of_date     DATE NOT NULL,
    source         VARCHAR,
    row_counts     VARCHAR,
    schema_version INTEGER NOT NULL  -- data/loader.py SCHEMA_VERSION; the app refuses older files
);
