"""Delivery: the outbox worker, rate limits, the sender chain, alert HTML and buttons, sinks."""
