"""The CapabilityStatement: what this FHIR server offers and how to authenticate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.deps import SettingsDep
from gateway.fhir.responses import FHIRResponse

router = APIRouter(prefix="/fhir", tags=["fhir"])

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@router.get("/metadata")
def capability_statement(settings: SettingsDep) -> FHIRResponse:
    """The server's CapabilityStatement (FHIR 4.3.0)."""
    return FHIRResponse(_capabilities(settings.base_url, settings.token_url))


def _capabilities(base_url: str, token_url: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-28",
        "kind": "instance",
        "software": {"name": "SSO Claims Gateway (claimgw)", "version": "0.1.0"},
        "implementation": {"description": "SSO e-Claim gateway", "url": f"{base_url}/fhir"},
        "fhirVersion": "4.3.0",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "SMART Backend Services: client_credentials with a "
                    "private_key_jwt "
                    "assertion signed RS384 or ES384.",
                    "extension": [
                        {"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": token_url}]}
                    ],
                },
                "resource": [
                    {
                        "type": "Claim",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [{"name": "identifier", "type": "token"}],
                        "operation": [
                            {
                                "name": "submit",
                                "definition": "http://hl7.org/fhir/OperationDefinition/Claim-submit",
                            },
                            {
                                "name": "validate",
                                "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                            },
                            {
                                "name": "cancel",
                                "definition": f"{base_url}/fhir/OperationDefinition/Claim-cancel",
                                "documentation": "POST /fhir/Claim/{id}/$cancel withdraws a "
                                "claim until it is batched for payment.",
                            },
                        ],
                    },
                    {
                        "type": "ClaimResponse",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [{"name": "request", "type": "reference"}],
                    },
                    {
                        "type": "PaymentReconciliation",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "created", "type": "date"},
                            {"name": "_count", "type": "number"},
                        ],
                    },
                    {
                        "type": "Subscription",
                        "documentation": "rest-hook notifications of ClaimResponse and "
                        "PaymentReconciliation changes",
                        "interaction": [
                            {"code": "create"},
                            {"code": "read"},
                            {"code": "delete"},
                            {"code": "search-type"},
                        ],
                    },
                ],
            }
        ],
    }
