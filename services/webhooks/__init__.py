"""Webhooks service: endpoints, signed delivery, retries."""
