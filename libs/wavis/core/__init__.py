"""Code every WAVIS process shares: settings, errors, gRPC bootstrap, telemetry, Redis."""
