"""The local stack behind `make run`: Redis, the five services and the gateway as processes."""
