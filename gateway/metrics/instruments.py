"""Every metric the gateway process records itself (scrape-time gauges live in collector.py).

Names follow Prometheus conventions: prefix `claimgw_`, base units, `_total` counters,
histograms rather than summaries. Label values are bounded; see labels.py.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No `_created` series: they double the output and nothing reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
STEP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# From a sub-second intake decision up to a week of human review.
DECISION_BUCKETS = (
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    60.0,
    600.0,
    3600.0,
    14_400.0,
    86_400.0,
    259_200.0,
    604_800.0,
)

# Are we up and fast?
HTTP_REQUESTS = Counter(
    "claimgw_http_requests",
    "HTTP requests answered, by route template, method and status class.",
    ["route", "method", "status_class"],
)
HTTP_LATENCY = Histogram(
    "claimgw_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by route template.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "claimgw_http_requests_in_flight",
    "HTTP requests being handled right now.",
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "claimgw_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live worker processes).",
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "claimgw_db_pool_connections_max",
    "Connections the pool may open: pool size plus overflow (summed over live workers).",
    multiprocess_mode="livesum",
)

# What are hospitals sending?
BUNDLES = Counter(
    "claimgw_intake_bundles",
    "Claim bundles posted to $submit, by outcome.",
    ["outcome", "hcode"],
)
PROBLEMS = Counter(
    "claimgw_intake_problems",
    "Validation problems found in bundles ($submit and $validate), by rule.",
    ["rule"],
)
CLAIMS = Counter(
    "claimgw_claims",
    "Claims stored at intake, by claim type, care setting and ClaimResponse outcome.",
    ["claim_type", "setting", "outcome", "hcode"],
)

# Money.
SUBMITTED_THB = Counter(
    "claimgw_claims_submitted_thb",
    "THB billed by hospitals on stored claims.",
    ["setting", "hcode"],
)
ELIGIBLE_THB = Counter(
    "claimgw_claims_eligible_thb",
    "THB found eligible under SSO rules on stored claims.",
    ["setting", "hcode"],
)
BENEFIT_THB = Counter(
    "claimgw_claims_benefit_thb",
    "THB the SSO is to pay on stored claims.",
    ["setting", "hcode"],
)
LINE_DENIALS = Counter(
    "claimgw_claim_line_denials",
    "Claim lines not paid in full, by adjudication reason code (a line counts once per reason).",
    ["reason"],
)
PRICING_LATENCY = Histogram(
    "claimgw_pricing_duration_seconds",
    "Time to price one claim (eligibility and tariff).",
    buckets=STEP_BUCKETS,
)

# Fraud.
FRAUD_SCORE = Histogram(
    "claimgw_fraud_score",
    "Fraud scores of stored claims, in [0, 1] (higher is riskier).",
    buckets=SCORE_BUCKETS,
)
FRAUD_SCORED = Counter("claimgw_fraud_scored_claims", "Claims scored at intake.", ["hcode"])
FRAUD_UNSCORED = Counter(
    "claimgw_fraud_unscored_claims", "Claims taken in while no model was promoted.", ["hcode"]
)
FRAUD_FLAGGED = Counter(
    "claimgw_fraud_flagged_claims",
    "Claims flagged for fraud review at intake.",
    ["hcode"],
)
FRAUD_MODEL = Gauge(
    "claimgw_fraud_model_info",
    "The fraud model version a worker scores with (1 = active).",
    ["model_version"],
    multiprocess_mode="livemax",
)
SCORING_LATENCY = Histogram(
    "claimgw_fraud_scoring_duration_seconds",
    "Time to score one claim for fraud.",
    buckets=STEP_BUCKETS,
)

# Service quality.
DECISION_TIME = Histogram(
    "claimgw_claim_decision_seconds",
    "Time from a claim's submission to its final decision, by who decided.",
    ["decided_by"],
    buckets=DECISION_BUCKETS,
)
