"""TFHE evaluation service: BinFHE sessions and gates."""
