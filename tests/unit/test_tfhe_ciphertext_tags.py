"""Server-mode TFHE ciphertext tags (services.tfhe_eval.ciphertext_tags): what one session
issues opens in that session only, under the same server secret, byte for byte unchanged."""

from __future__ import annotations

import os

import pytest

from services.tfhe_eval.ciphertext_tags import FORMAT, OVERHEAD_BYTES, CiphertextTags
from wavis.core.errors import WavisError

SECRET = "a-test-secret-of-at-least-32-characters"
RECORD = {"account_id": "acct_1", "session_id": "sess_1", "key_id": "key_1"}
BODY = os.urandom(565)  # a toy LWE ciphertext's size


def _refused(tags: CiphertextTags, record: dict[str, str], data: bytes) -> WavisError:
    with pytest.raises(WavisError) as caught:
        tags.session(record).open(data, {"index": 3})
    assert caught.value.code == "UNAUTHENTICATED_CIPHERTEXT"
    assert caught.value.details == {"index": 3, "session_id": record["session_id"]}
    return caught.value


def test_a_session_opens_what_it_issued_and_any_replica_agrees() -> None:
    issued = CiphertextTags(SECRET).session(RECORD).issue(BODY)
    assert issued.startswith(FORMAT) and issued.endswith(BODY)
    assert len(issued) == len(BODY) + OVERHEAD_BYTES == len(BODY) + 36
    # Another replica, with the same secret, reads it.
    assert CiphertextTags(SECRET).session(dict(RECORD)).open(issued, {}) == BODY


@pytest.mark.parametrize("field", ["account_id", "session_id", "key_id"])
def test_another_session_account_or_key_refuses_it(field: str) -> None:
    tags = CiphertextTags(SECRET)
    issued = tags.session(RECORD).issue(BODY)
    _refused(tags, RECORD | {field: RECORD[field] + "x"}, issued)


def test_another_secret_refuses_it() -> None:
    issued = CiphertextTags(SECRET).session(RECORD).issue(BODY)
    _refused(CiphertextTags(SECRET + "2"), RECORD, issued)


def test_every_changed_byte_and_every_cut_is_refused() -> None:
    tags = CiphertextTags(SECRET)
    issued = tags.session(RECORD).issue(BODY)
    for position in range(len(issued)):
        changed = bytearray(issued)
        changed[position] ^= 0x01
        _refused(tags, RECORD, bytes(changed))
    for length in (0, 1, len(FORMAT), OVERHEAD_BYTES, len(issued) - 1):
        _refused(tags, RECORD, issued[:length])
    _refused(tags, RECORD, issued + b"\x00")
    _refused(tags, RECORD, BODY)  # OpenFHE's bytes alone, as a caller would build them


def test_the_message_says_what_to_do() -> None:
    error = _refused(CiphertextTags(SECRET), RECORD, BODY)
    assert "sess_1" in error.message and "only its own ciphertexts" in error.message
