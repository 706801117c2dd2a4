// Starts Swagger UI on the gateway's own OpenAPI document (no inline script, no CDN).
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
