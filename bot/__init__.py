"""Dozor: watches public Telegram channels for journalists."""
