"""Fuzzing of the API with mutated OpenFHE blobs (keys, ciphertexts, eval-key archives), from
the committed corpus in corpus/ plus generated mutants. See docs/development.md (Fuzzing)."""
