"""Keys service: FHE key generation and upload, key metadata and the blob store."""
