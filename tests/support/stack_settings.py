"""Settings every test stack runs with, where tests need the figure too."""

from __future__ import annotations

# WAVIS_CKKS_DECRYPTIONS_PER_KEY: small, so a test runs a key's budget out.
DECRYPTIONS_PER_KEY = 40
