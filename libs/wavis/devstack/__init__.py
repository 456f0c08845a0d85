"""The local stack behind `make run`: Redis, the six services and the gateway as processes."""
