"""Process plumbing, no pipeline logic: an ASGI app served by uvicorn, progress over logging,
the long-lived heap frozen out of the collector's way, a child server supervised until a stop
signal, an alert posted to a webhook."""
