"""The inference service: a catalogue of models that run on encrypted inputs."""
