"""`claimgw worker`: deliver outbox events to hospitals' rest-hooks until stopped."""

from __future__ import annotations

from typing import Annotated

import typer


def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's counters on this port (/metrics)")
    ] = None,
    once: Annotated[bool, typer.Option(help="Work through what is due now, then exit")] = False,
) -> None:
    """Claim due outbox rows, sign and send notifications, retry with backoff, dead-letter."""
    import signal
    import threading

    from gateway.cli.database import engine_for_writing
    from gateway.cli.payments import logs_to_stderr
    from gateway.notify.worker import DeliveryWorker
    from gateway.settings import get_settings

    logs_to_stderr()
    settings = get_settings()
    engine = engine_for_writing(settings)
    delivery = DeliveryWorker(engine, settings)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if once:
            while delivery.run_once():
                pass
        else:
            delivery.run(stop)
    finally:
        delivery.close()
        engine.dispose()
