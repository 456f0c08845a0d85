"""The server owns CKKS key tags: every key's material carries its key id as tag.

OpenFHE keeps evaluation keys in process-wide maps keyed by the key tag, a string inside each
key that whoever made the key chose. A second key loaded under a tag already loaded would run
on the first one's evaluation keys (relinearization keys are refused, rotation keys are merged
in). So the keys service re-tags an uploaded key set in the worker that checks it, and gives a
generated one its tag before its evaluation keys exist; ckks-compute loads only material whose
tag is its key's id. Ciphertexts keep the tag they were made under: ckks-compute sets the key's
tag on each one it reads, and OpenFHE's Decrypt does not compare tags, so results decrypt on
the client under its own secret key. See docs/decisions/0080-the-server-owns-ckks-key-tags.md.
"""

from __future__ import annotations

from typing import Any


def server_key_tag(key_id: str) -> str:
    """The tag a key's material carries: its id (unique, and chosen by the server)."""
    return key_id


def server_tagged_parts(openfhe: Any, public_key: Any, client_tag: str, key_id: str,
                        rotations: bool) -> dict[str, bytes]:
    """The key set whose evaluation keys this worker's maps hold under `client_tag`, tagged
    with the key id and serialized (BINARY): public_key, eval_mult_key and, when `rotations`,
    eval_rotation_keys. The crypto context carries no tag."""
    tag = server_key_tag(key_id)
    public_key.SetKeyTag(tag)
    parts = {"public_key": openfhe.Serialize(public_key, openfhe.BINARY)}
    if client_tag != tag:  # (already the key id: nothing to move)
        relinearization = openfhe.CryptoContext.GetEvalMultKeyVector(client_tag)
        for key in relinearization:
            key.SetKeyTag(tag)
        openfhe.CryptoContext.InsertEvalMultKey(relinearization, tag)
        if rotations:
            # The map is inserted whole under the new tag. Python cannot walk OpenFHE's map,
            # so the keys inside keep the client's string; OpenFHE finds them by the map's tag.
            openfhe.CryptoContext.InsertEvalAutomorphismKey(
                openfhe.CryptoContext.GetEvalAutomorphismKeyMap(client_tag), tag)
    parts["eval_mult_key"] = openfhe.SerializeEvalMultKeyString(openfhe.BINARY, tag)
    if rotations:
        parts["eval_rotation_keys"] = openfhe.SerializeEvalAutomorphismKeyString(
            openfhe.BINARY, tag)
    return parts
