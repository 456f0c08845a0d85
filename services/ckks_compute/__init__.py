"""CKKS compute service: ciphertexts, CKKS operations, asynchronous operations."""
