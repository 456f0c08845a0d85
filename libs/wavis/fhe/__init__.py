"""OpenFHE wrappers shared by the FHE services (never imported by the gateway)."""
