"""The gRPC services of the WAVIS mesh, one package each (run: python -m services.<name>)."""
