"""The WAVIS edge gateway: the /api/v1 JSON contract in front of the gRPC mesh."""
