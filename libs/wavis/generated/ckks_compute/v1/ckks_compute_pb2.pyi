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
    __slots__ = ("info", "active_jobs", "ciphertext_cache_usage_pct")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_JOBS_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_CACHE_USAGE_PCT_FIELD_NUMBER: _ClassVar[int]
    info: _common_pb2.ServiceInfo
    active_jobs: int
    ciphertext_cache_usage_pct: float
    def __init__(self, info: _Optional[_Union[_common_pb2.ServiceInfo, _Mapping]] = ..., active_jobs: _Optional[int] = ..., ciphertext_cache_usage_pct: _Optional[float] = ...) -> None: ...

class Ciphertext(_message.Message):
    __slots__ = ("ciphertext_id", "key_id", "level", "noise_budget_remaining", "size_bytes", "expires_at", "data", "insecure_key")
    CIPHERTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NOISE_BUDGET_REMAINING_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    INSECURE_KEY_FIELD_NUMBER: _ClassVar[int]
    ciphertext_id: str
    key_id: str
    level: int
    noise_budget_remaining: float
    size_bytes: int
    expires_at: str
    data: bytes
    insecure_key: bool
    def __init__(self, ciphertext_id: _Optional[str] = ..., key_id: _Optional[str] = ..., level: _Optional[int] = ..., noise_budget_remaining: _Optional[float] = ..., size_bytes: _Optional[int] = ..., expires_at: _Optional[str] = ..., data: _Optional[bytes] = ..., insecure_key: _Optional[bool] = ...) -> None: ...

class UploadCiphertextRequest(_message.Message):
    __slots__ = ("account_id", "key_id", "data")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    key_id: str
    data: bytes
    def __init__(self, account_id: _Optional[str] = ..., key_id: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadCiphertextResponse(_message.Message):
    __slots__ = ("ciphertext", "evicted_ciphertext_ids")
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    EVICTED_CIPHERTEXT_IDS_FIELD_NUMBER: _ClassVar[int]
    ciphertext: Ciphertext
    evicted_ciphertext_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ciphertext: _Optional[_Union[Ciphertext, _Mapping]] = ..., evicted_ciphertext_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class EncryptValuesRequest(_message.Message):
    __slots__ = ("account_id", "key_id", "values")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    key_id: str
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, account_id: _Optional[str] = ..., key_id: _Optional[str] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class EncryptValuesResponse(_message.Message):
    __slots__ = ("ciphertext", "evicted_ciphertext_ids")
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    EVICTED_CIPHERTEXT_IDS_FIELD_NUMBER: _ClassVar[int]
    ciphertext: Ciphertext
    evicted_ciphertext_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ciphertext: _Optional[_Union[Ciphertext, _Mapping]] = ..., evicted_ciphertext_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCiphertextRequest(_message.Message):
    __slots__ = ("account_id", "ciphertext_id", "include_data", "compact")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DATA_FIELD_NUMBER: _ClassVar[int]
    COMPACT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    ciphertext_id: str
    include_data: bool
    compact: bool
    def __init__(self, account_id: _Optional[str] = ..., ciphertext_id: _Optional[str] = ..., include_data: _Optional[bool] = ..., compact: _Optional[bool] = ...) -> None: ...

class GetCiphertextResponse(_message.Message):
    __slots__ = ("ciphertext",)
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    ciphertext: Ciphertext
    def __init__(self, ciphertext: _Optional[_Union[Ciphertext, _Mapping]] = ...) -> None: ...

class DeleteCiphertextRequest(_message.Message):
    __slots__ = ("account_id", "ciphertext_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    ciphertext_id: str
    def __init__(self, account_id: _Optional[str] = ..., ciphertext_id: _Optional[str] = ...) -> None: ...

class DeleteCiphertextResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DecryptCiphertextRequest(_message.Message):
    __slots__ = ("account_id", "ciphertext_id", "count", "noise_margin_bits")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    NOISE_MARGIN_BITS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    ciphertext_id: str
    count: int
    noise_margin_bits: int
    def __init__(self, account_id: _Optional[str] = ..., ciphertext_id: _Optional[str] = ..., count: _Optional[int] = ..., noise_margin_bits: _Optional[int] = ...) -> None: ...

class DecryptCiphertextResponse(_message.Message):
    __slots__ = ("values", "precision_bits", "insecure_key", "decryptions_remaining", "noise_margin_bits")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PRECISION_BITS_FIELD_NUMBER: _ClassVar[int]
    INSECURE_KEY_FIELD_NUMBER: _ClassVar[int]
    DECRYPTIONS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    NOISE_MARGIN_BITS_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    precision_bits: float
    insecure_key: bool
    decryptions_remaining: int
    noise_margin_bits: int
    def __init__(self, values: _Optional[_Iterable[float]] = ..., precision_bits: _Optional[float] = ..., insecure_key: _Optional[bool] = ..., decryptions_remaining: _Optional[int] = ..., noise_margin_bits: _Optional[int] = ...) -> None: ...

class MatrixRow(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class ComputeRequest(_message.Message):
    __slots__ = ("account_id", "operation", "key_id", "ciphertext_ids", "plain_operand", "has_plain_operand", "polynomial_coeffs", "scale_stable", "rotation_steps", "matrix", "return_ciphertext", "run_async", "op_id", "skip_metering", "compact")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_IDS_FIELD_NUMBER: _ClassVar[int]
    PLAIN_OPERAND_FIELD_NUMBER: _ClassVar[int]
    HAS_PLAIN_OPERAND_FIELD_NUMBER: _ClassVar[int]
    POLYNOMIAL_COEFFS_FIELD_NUMBER: _ClassVar[int]
    SCALE_STABLE_FIELD_NUMBER: _ClassVar[int]
    ROTATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    MATRIX_FIELD_NUMBER: _ClassVar[int]
    RETURN_CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    RUN_ASYNC_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    SKIP_METERING_FIELD_NUMBER: _ClassVar[int]
    COMPACT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    operation: str
    key_id: str
    ciphertext_ids: _containers.RepeatedScalarFieldContainer[str]
    plain_operand: _containers.RepeatedScalarFieldContainer[float]
    has_plain_operand: bool
    polynomial_coeffs: _containers.RepeatedScalarFieldContainer[float]
    scale_stable: bool
    rotation_steps: int
    matrix: _containers.RepeatedCompositeFieldContainer[MatrixRow]
    return_ciphertext: bool
    run_async: bool
    op_id: str
    skip_metering: bool
    compact: bool
    def __init__(self, account_id: _Optional[str] = ..., operation: _Optional[str] = ..., key_id: _Optional[str] = ..., ciphertext_ids: _Optional[_Iterable[str]] = ..., plain_operand: _Optional[_Iterable[float]] = ..., has_plain_operand: _Optional[bool] = ..., polynomial_coeffs: _Optional[_Iterable[float]] = ..., scale_stable: _Optional[bool] = ..., rotation_steps: _Optional[int] = ..., matrix: _Optional[_Iterable[_Union[MatrixRow, _Mapping]]] = ..., return_ciphertext: _Optional[bool] = ..., run_async: _Optional[bool] = ..., op_id: _Optional[str] = ..., skip_metering: _Optional[bool] = ..., compact: _Optional[bool] = ...) -> None: ...

class OperationResult(_message.Message):
    __slots__ = ("result", "compute_time_ms", "evicted_ciphertext_ids", "bootstrap_applied", "bootstrap_effective_degree", "bootstrap_degraded", "cost_units", "cost_usd", "cost_jpy")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    EVICTED_CIPHERTEXT_IDS_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_APPLIED_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_EFFECTIVE_DEGREE_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_DEGRADED_FIELD_NUMBER: _ClassVar[int]
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COST_JPY_FIELD_NUMBER: _ClassVar[int]
    result: Ciphertext
    compute_time_ms: float
    evicted_ciphertext_ids: _containers.RepeatedScalarFieldContainer[str]
    bootstrap_applied: bool
    bootstrap_effective_degree: int
    bootstrap_degraded: bool
    cost_units: int
    cost_usd: float
    cost_jpy: float
    def __init__(self, result: _Optional[_Union[Ciphertext, _Mapping]] = ..., compute_time_ms: _Optional[float] = ..., evicted_ciphertext_ids: _Optional[_Iterable[str]] = ..., bootstrap_applied: _Optional[bool] = ..., bootstrap_effective_degree: _Optional[int] = ..., bootstrap_degraded: _Optional[bool] = ..., cost_units: _Optional[int] = ..., cost_usd: _Optional[float] = ..., cost_jpy: _Optional[float] = ...) -> None: ...

class ComputeResponse(_message.Message):
    __slots__ = ("op_id", "status", "result")
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    op_id: str
    status: str
    result: OperationResult
    def __init__(self, op_id: _Optional[str] = ..., status: _Optional[str] = ..., result: _Optional[_Union[OperationResult, _Mapping]] = ...) -> None: ...

class GetOperationRequest(_message.Message):
    __slots__ = ("account_id", "op_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    op_id: str
    def __init__(self, account_id: _Optional[str] = ..., op_id: _Optional[str] = ...) -> None: ...

class GetOperationResponse(_message.Message):
    __slots__ = ("op_id", "operation", "status", "result", "error_code", "error_message", "key_id", "program_result")
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_RESULT_FIELD_NUMBER: _ClassVar[int]
    op_id: str
    operation: str
    status: str
    result: OperationResult
    error_code: str
    error_message: str
    key_id: str
    program_result: ProgramResult
    def __init__(self, op_id: _Optional[str] = ..., operation: _Optional[str] = ..., status: _Optional[str] = ..., result: _Optional[_Union[OperationResult, _Mapping]] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ..., key_id: _Optional[str] = ..., program_result: _Optional[_Union[ProgramResult, _Mapping]] = ...) -> None: ...

class CancelOperationRequest(_message.Message):
    __slots__ = ("account_id", "op_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    op_id: str
    def __init__(self, account_id: _Optional[str] = ..., op_id: _Optional[str] = ...) -> None: ...

class CancelOperationResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: str
    def __init__(self, status: _Optional[str] = ...) -> None: ...

class ProgramStep(_message.Message):
    __slots__ = ("operation", "args", "plain_operand", "has_plain_operand", "polynomial_coeffs", "scale_stable", "rotation_steps", "matrix", "plain_operand_repeats")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    PLAIN_OPERAND_FIELD_NUMBER: _ClassVar[int]
    HAS_PLAIN_OPERAND_FIELD_NUMBER: _ClassVar[int]
    POLYNOMIAL_COEFFS_FIELD_NUMBER: _ClassVar[int]
    SCALE_STABLE_FIELD_NUMBER: _ClassVar[int]
    ROTATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    MATRIX_FIELD_NUMBER: _ClassVar[int]
    PLAIN_OPERAND_REPEATS_FIELD_NUMBER: _ClassVar[int]
    operation: str
    args: _containers.RepeatedScalarFieldContainer[str]
    plain_operand: _containers.RepeatedScalarFieldContainer[float]
    has_plain_operand: bool
    polynomial_coeffs: _containers.RepeatedScalarFieldContainer[float]
    scale_stable: bool
    rotation_steps: int
    matrix: _containers.RepeatedCompositeFieldContainer[MatrixRow]
    plain_operand_repeats: bool
    def __init__(self, operation: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., plain_operand: _Optional[_Iterable[float]] = ..., has_plain_operand: _Optional[bool] = ..., polynomial_coeffs: _Optional[_Iterable[float]] = ..., scale_stable: _Optional[bool] = ..., rotation_steps: _Optional[int] = ..., matrix: _Optional[_Iterable[_Union[MatrixRow, _Mapping]]] = ..., plain_operand_repeats: _Optional[bool] = ...) -> None: ...

class ExecuteProgramRequest(_message.Message):
    __slots__ = ("account_id", "key_id", "inputs", "steps", "outputs", "return_ciphertext", "compact", "run_async", "op_id", "skip_metering")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    RETURN_CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    COMPACT_FIELD_NUMBER: _ClassVar[int]
    RUN_ASYNC_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    SKIP_METERING_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    key_id: str
    inputs: _containers.ScalarMap[str, str]
    steps: _containers.RepeatedCompositeFieldContainer[ProgramStep]
    outputs: _containers.RepeatedScalarFieldContainer[str]
    return_ciphertext: bool
    compact: bool
    run_async: bool
    op_id: str
    skip_metering: bool
    def __init__(self, account_id: _Optional[str] = ..., key_id: _Optional[str] = ..., inputs: _Optional[_Mapping[str, str]] = ..., steps: _Optional[_Iterable[_Union[ProgramStep, _Mapping]]] = ..., outputs: _Optional[_Iterable[str]] = ..., return_ciphertext: _Optional[bool] = ..., compact: _Optional[bool] = ..., run_async: _Optional[bool] = ..., op_id: _Optional[str] = ..., skip_metering: _Optional[bool] = ...) -> None: ...

class ProgramOutput(_message.Message):
    __slots__ = ("ref", "result")
    REF_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ref: str
    result: Ciphertext
    def __init__(self, ref: _Optional[str] = ..., result: _Optional[_Union[Ciphertext, _Mapping]] = ...) -> None: ...

class ProgramResult(_message.Message):
    __slots__ = ("outputs", "steps_evaluated", "compute_time_ms", "evicted_ciphertext_ids", "cost_units", "cost_usd", "cost_jpy", "discount_applied")
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    STEPS_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    EVICTED_CIPHERTEXT_IDS_FIELD_NUMBER: _ClassVar[int]
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COST_JPY_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedCompositeFieldContainer[ProgramOutput]
    steps_evaluated: int
    compute_time_ms: float
    evicted_ciphertext_ids: _containers.RepeatedScalarFieldContainer[str]
    cost_units: int
    cost_usd: float
    cost_jpy: float
    discount_applied: bool
    def __init__(self, outputs: _Optional[_Iterable[_Union[ProgramOutput, _Mapping]]] = ..., steps_evaluated: _Optional[int] = ..., compute_time_ms: _Optional[float] = ..., evicted_ciphertext_ids: _Optional[_Iterable[str]] = ..., cost_units: _Optional[int] = ..., cost_usd: _Optional[float] = ..., cost_jpy: _Optional[float] = ..., discount_applied: _Optional[bool] = ...) -> None: ...

class ExecuteProgramResponse(_message.Message):
    __slots__ = ("op_id", "status", "result")
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    op_id: str
    status: str
    result: ProgramResult
    def __init__(self, op_id: _Optional[str] = ..., status: _Optional[str] = ..., result: _Optional[_Union[ProgramResult, _Mapping]] = ...) -> None: ...
