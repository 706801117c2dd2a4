"""Who may call which route: one table, read by the staff dependencies and walked by a test.

Keys are (METHOD, path template) exactly as the route declares them; values are the
principals allowed: "anonymous" (anyone, no credentials needed), "hospital" (a SMART client
token) and the staff role values. A route missing from the table is refused to staff, and
`tests/gateway/test_route_access.py` fails until it gets an entry.
"""

from __future__ import annotations

from provider_registry.staff import Role

ANONYMOUS = "anonymous"
HOSPITAL = "hospital"
STAFF_ROLES: frozenset[str] = frozenset(r.value for r in Role)
PRINCIPALS: frozenset[str] = frozenset({ANONYMOUS, HOSPITAL}) | STAFF_ROLES
EVERYONE = PRINCIPALS
HOSPITAL_ONLY = frozenset({HOSPITAL})


def staff(*roles: Role) -> frozenset[str]:
    """The principals set for these staff roles."""
    return frozenset(r.value for r in roles)


READ_REVIEW = staff(Role.REVIEWER, Role.SUPERVISOR, Role.AUDITOR)
WORK_REVIEW = staff(Role.REVIEWER, Role.SUPERVISOR)
SUPERVISE = staff(Role.SUPERVISOR)
SUPERVISOR_VIEW = staff(Role.SUPERVISOR, Role.AUDITOR)
FINANCE = staff(Role.FINANCE)
FINANCE_VIEW = staff(Role.FINANCE, Role.AUDITOR)

ROUTE_ACCESS: dict[tuple[str, str], frozenset[str]] = {
    # documentation and discovery
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/docs/assets"): EVERYONE,  # vendored Swagger UI (gateway/security/swagger)
    ("GET", "/redoc"): EVERYONE,
    ("GET", "/fhir/metadata"): EVERYONE,
    ("GET", "/fhir/.well-known/smart-configuration"): EVERYONE,
    # monitoring
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): EVERYONE,
    # hospitals: SMART Backend Services and the FHIR API (scopes are checked by the routes)
    ("POST", "/auth/token"): EVERYONE,
    ("POST", "/fhir/Claim/$submit"): HOSPITAL_ONLY,
    ("POST", "/fhir/Claim/$validate"): HOSPITAL_ONLY,
    ("POST", "/fhir/Claim/{claim_id}/$cancel"): HOSPITAL_ONLY,
    ("GET", "/fhir/Claim/{claim_id}"): HOSPITAL_ONLY,
    ("GET", "/fhir/Claim"): HOSPITAL_ONLY,
    ("GET", "/fhir/ClaimResponse/{response_id}"): HOSPITAL_ONLY,
    ("GET", "/fhir/ClaimResponse"): HOSPITAL_ONLY,
    ("GET", "/fhir/PaymentReconciliation/{reconciliation_id}"): HOSPITAL_ONLY,
    ("GET", "/fhir/PaymentReconciliation"): HOSPITAL_ONLY,
    ("POST", "/fhir/Subscription"): HOSPITAL_ONLY,
    ("GET", "/fhir/Subscription"): HOSPITAL_ONLY,
    ("GET", "/fhir/Subscription/{subscription_id}"): HOSPITAL_ONLY,
    ("DELETE", "/fhir/Subscription/{subscription_id}"): HOSPITAL_ONLY,
    # staff sign-in and static assets
    ("GET", "/"): STAFF_ROLES,  # the staff start page
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("POST", "/api/auth/token"): EVERYONE,
    ("GET", "/static"): EVERYONE,
    # fraud review: pages
    ("GET", "/review"): READ_REVIEW,
    ("GET", "/review/claims/{claim_id}"): READ_REVIEW,
    ("POST", "/review/claims/{claim_id}/assign"): WORK_REVIEW,
    ("POST", "/review/claims/{claim_id}/release"): WORK_REVIEW,
    ("POST", "/review/claims/{claim_id}/decision"): WORK_REVIEW,
    ("POST", "/review/claims/{claim_id}/second-approval"): SUPERVISE,
    ("GET", "/review/supervisor"): SUPERVISOR_VIEW,
    # fraud review: JSON API
    ("GET", "/api/review/queue"): READ_REVIEW,
    ("GET", "/api/review/claims/{claim_id}"): READ_REVIEW,
    ("POST", "/api/review/claims/{claim_id}/assign"): WORK_REVIEW,
    ("POST", "/api/review/claims/{claim_id}/release"): WORK_REVIEW,
    ("POST", "/api/review/claims/{claim_id}/decision"): WORK_REVIEW,
    ("POST", "/api/review/claims/{claim_id}/second-approval"): SUPERVISE,
    ("GET", "/api/review/stats"): SUPERVISOR_VIEW,
    # payments: pages
    ("GET", "/payments"): FINANCE_VIEW,
    ("POST", "/payments/runs"): FINANCE,
    ("POST", "/payments/batches/{batch_id}/confirm"): FINANCE,
    # payments: JSON API
    ("POST", "/api/payments/runs"): FINANCE,
    ("GET", "/api/payments/batches"): FINANCE_VIEW,
    ("GET", "/api/payments/batches/{batch_id}"): FINANCE_VIEW,
    ("GET", "/api/payments/batches/{batch_id}/export"): FINANCE_VIEW,
    ("POST", "/api/payments/batches/{batch_id}/confirm"): FINANCE,
}


def allowed_principals(method: str, path_template: str) -> frozenset[str] | None:
    """The principals a route admits; None for a route without an entry (refuse it)."""
    if method == "HEAD":
        method = "GET"
    return ROUTE_ACCESS.get((method, path_template))
