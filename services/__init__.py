"""The gRPC services of the WAVIS mesh, one package each (run: python -m wavis.services.<name>)."""
