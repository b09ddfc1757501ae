"""Channels: each module turns its platform's messages into `gateway.converse` calls."""
