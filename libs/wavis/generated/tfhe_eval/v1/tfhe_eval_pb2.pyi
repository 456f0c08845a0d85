from wavis.generated.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("info", "active_sessions", "loaded_keys", "loaded_key_bytes", "workers")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    LOADED_KEYS_FIELD_NUMBER: _ClassVar[int]
    LOADED_KEY_BYTES_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    info: _common_pb2.ServiceInfo
    active_sessions: int
    loaded_keys: int
    loaded_key_bytes: int
    workers: int
    def __init__(self, info: _Optional[_Union[_common_pb2.ServiceInfo, _Mapping]] = ..., active_sessions: _Optional[int] = ..., loaded_keys: _Optional[int] = ..., loaded_key_bytes: _Optional[int] = ..., workers: _Optional[int] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("session_id", "preset", "n", "big_n", "is_blind", "key_id", "security_bits", "idle_timeout_seconds", "replica", "status", "failure")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    BIG_N_FIELD_NUMBER: _ClassVar[int]
    IS_BLIND_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_BITS_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REPLICA_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    preset: str
    n: int
    big_n: int
    is_blind: bool
    key_id: str
    security_bits: int
    idle_timeout_seconds: int
    replica: str
    status: str
    failure: str
    def __init__(self, session_id: _Optional[str] = ..., preset: _Optional[str] = ..., n: _Optional[int] = ..., big_n: _Optional[int] = ..., is_blind: _Optional[bool] = ..., key_id: _Optional[str] = ..., security_bits: _Optional[int] = ..., idle_timeout_seconds: _Optional[int] = ..., replica: _Optional[str] = ..., status: _Optional[str] = ..., failure: _Optional[str] = ...) -> None: ...

class SessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("account_id", "preset", "max_keys", "max_key_bytes")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    MAX_KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_KEY_BYTES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    preset: str
    max_keys: int
    max_key_bytes: int
    def __init__(self, account_id: _Optional[str] = ..., preset: _Optional[str] = ..., max_keys: _Optional[int] = ..., max_key_bytes: _Optional[int] = ...) -> None: ...

class CreateEvalSessionRequest(_message.Message):
    __slots__ = ("account_id", "eval_key", "key_id", "session_id", "max_keys", "max_key_bytes")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EVAL_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_KEY_BYTES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    eval_key: bytes
    key_id: str
    session_id: str
    max_keys: int
    max_key_bytes: int
    def __init__(self, account_id: _Optional[str] = ..., eval_key: _Optional[bytes] = ..., key_id: _Optional[str] = ..., session_id: _Optional[str] = ..., max_keys: _Optional[int] = ..., max_key_bytes: _Optional[int] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("account_id", "session_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_id: str
    def __init__(self, account_id: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("account_id", "session_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_id: str
    def __init__(self, account_id: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class EncryptRequest(_message.Message):
    __slots__ = ("account_id", "session_id", "bits", "plaintext_modulus")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    BITS_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_MODULUS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_id: str
    bits: _containers.RepeatedScalarFieldContainer[int]
    plaintext_modulus: int
    def __init__(self, account_id: _Optional[str] = ..., session_id: _Optional[str] = ..., bits: _Optional[_Iterable[int]] = ..., plaintext_modulus: _Optional[int] = ...) -> None: ...

class EncryptResponse(_message.Message):
    __slots__ = ("ciphertexts", "session")
    CIPHERTEXTS_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ciphertexts: _containers.RepeatedScalarFieldContainer[bytes]
    session: Session
    def __init__(self, ciphertexts: _Optional[_Iterable[bytes]] = ..., session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class DecryptRequest(_message.Message):
    __slots__ = ("account_id", "session_id", "ciphertexts")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXTS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_id: str
    ciphertexts: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, account_id: _Optional[str] = ..., session_id: _Optional[str] = ..., ciphertexts: _Optional[_Iterable[bytes]] = ...) -> None: ...

class DecryptResponse(_message.Message):
    __slots__ = ("bits", "session")
    BITS_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    bits: _containers.RepeatedScalarFieldContainer[int]
    session: Session
    def __init__(self, bits: _Optional[_Iterable[int]] = ..., session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class GateInput(_message.Message):
    __slots__ = ("ciphertext", "gate_ref")
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    GATE_REF_FIELD_NUMBER: _ClassVar[int]
    ciphertext: bytes
    gate_ref: int
    def __init__(self, ciphertext: _Optional[bytes] = ..., gate_ref: _Optional[int] = ...) -> None: ...

class Gate(_message.Message):
    __slots__ = ("op", "a", "b", "sel", "c")
    OP_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    SEL_FIELD_NUMBER: _ClassVar[int]
    C_FIELD_NUMBER: _ClassVar[int]
    op: str
    a: GateInput
    b: GateInput
    sel: GateInput
    c: GateInput
    def __init__(self, op: _Optional[str] = ..., a: _Optional[_Union[GateInput, _Mapping]] = ..., b: _Optional[_Union[GateInput, _Mapping]] = ..., sel: _Optional[_Union[GateInput, _Mapping]] = ..., c: _Optional[_Union[GateInput, _Mapping]] = ...) -> None: ...

class EvaluateGateRequest(_message.Message):
    __slots__ = ("account_id", "session_id", "gate", "op_id", "skip_metering")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    GATE_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    SKIP_METERING_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_id: str
    gate: Gate
    op_id: str
    skip_metering: bool
    def __init__(self, account_id: _Optional[str] = ..., session_id: _Optional[str] = ..., gate: _Optional[_Union[Gate, _Mapping]] = ..., op_id: _Optional[str] = ..., skip_metering: _Optional[bool] = ...) -> None: ...

class EvaluateGateResponse(_message.Message):
    __slots__ = ("result", "bootstraps", "compute_time_ms", "session", "cost_units", "cost_usd", "cost_jpy")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAPS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COST_JPY_FIELD_NUMBER: _ClassVar[int]
    result: bytes
    bootstraps: int
    compute_time_ms: float
    session: Session
    cost_units: int
    cost_usd: float
    cost_jpy: float
    def __init__(self, result: _Optional[bytes] = ..., bootstraps: _Optional[int] = ..., compute_time_ms: _Optional[float] = ..., session: _Optional[_Union[Session, _Mapping]] = ..., cost_units: _Optional[int] = ..., cost_usd: _Optional[float] = ..., cost_jpy: _Optional[float] = ...) -> None: ...

class EvaluateBatchRequest(_message.Message):
    __slots__ = ("account_id", "session_id", "gates", "op_id", "skip_metering")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    GATES_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    SKIP_METERING_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_id: str
    gates: _containers.RepeatedCompositeFieldContainer[Gate]
    op_id: str
    skip_metering: bool
    def __init__(self, account_id: _Optional[str] = ..., session_id: _Optional[str] = ..., gates: _Optional[_Iterable[_Union[Gate, _Mapping]]] = ..., op_id: _Optional[str] = ..., skip_metering: _Optional[bool] = ...) -> None: ...

class EvaluateBatchResponse(_message.Message):
    __slots__ = ("results", "done", "bootstraps", "compute_time_ms", "levels", "session", "cost_units", "cost_usd", "cost_jpy", "discount_applied")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAPS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COST_JPY_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedScalarFieldContainer[bytes]
    done: bool
    bootstraps: int
    compute_time_ms: float
    levels: int
    session: Session
    cost_units: int
    cost_usd: float
    cost_jpy: float
    discount_applied: bool
    def __init__(self, results: _Optional[_Iterable[bytes]] = ..., done: _Optional[bool] = ..., bootstraps: _Optional[int] = ..., compute_time_ms: _Optional[float] = ..., levels: _Optional[int] = ..., session: _Optional[_Union[Session, _Mapping]] = ..., cost_units: _Optional[int] = ..., cost_usd: _Optional[float] = ..., cost_jpy: _Optional[float] = ..., discount_applied: _Optional[bool] = ...) -> None: ...
