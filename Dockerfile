# syntax=docker/dockerfile:1
# Multi-stage image of the SSO claims gateway: uv builds the locked environment, the runtime
# stage runs it as a non-root user. (Not buildable on the development machines, which have no
# Docker engine; keep it in step with `make install`.)
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY gateway gateway
COPY fhir_mappings fhir_mappings
COPY fraud fraud
COPY provider_registry provider_registry
COPY migrations migrations
RUN uv sync --frozen --no-dev

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends fonts-thai-tlwg curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 claimgw
WORKDIR /app
COPY --from=build --chown=claimgw:claimgw /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    CLAIMGW_ENV=prod \
    PROMETHEUS_MULTIPROC_DIR=/tmp/claimgw-metrics
USER claimgw
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["claimgw", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
