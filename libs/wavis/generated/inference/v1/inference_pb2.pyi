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
    __slots__ = ("info", "models")
    INFO_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    info: _common_pb2.ServiceInfo
    models: int
    def __init__(self, info: _Optional[_Union[_common_pb2.ServiceInfo, _Mapping]] = ..., models: _Optional[int] = ...) -> None: ...

class Layout(_message.Message):
    __slots__ = ("block_size", "values_per_sample", "values", "samples_per_ciphertext", "scale")
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    VALUES_PER_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    block_size: int
    values_per_sample: int
    values: str
    samples_per_ciphertext: int
    scale: float
    def __init__(self, block_size: _Optional[int] = ..., values_per_sample: _Optional[int] = ..., values: _Optional[str] = ..., samples_per_ciphertext: _Optional[int] = ..., scale: _Optional[float] = ...) -> None: ...

class KeyRequirements(_message.Message):
    __slots__ = ("scheme", "min_poly_degree", "min_depth", "rotations", "max_scale_bits")
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    MIN_POLY_DEGREE_FIELD_NUMBER: _ClassVar[int]
    MIN_DEPTH_FIELD_NUMBER: _ClassVar[int]
    ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_SCALE_BITS_FIELD_NUMBER: _ClassVar[int]
    scheme: str
    min_poly_degree: int
    min_depth: int
    rotations: _containers.RepeatedScalarFieldContainer[int]
    max_scale_bits: int
    def __init__(self, scheme: _Optional[str] = ..., min_poly_degree: _Optional[int] = ..., min_depth: _Optional[int] = ..., rotations: _Optional[_Iterable[int]] = ..., max_scale_bits: _Optional[int] = ...) -> None: ...

class RecommendedKey(_message.Message):
    __slots__ = ("poly_degree", "scale_bits", "max_depth", "security_level")
    POLY_DEGREE_FIELD_NUMBER: _ClassVar[int]
    SCALE_BITS_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    SECURITY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    poly_degree: int
    scale_bits: int
    max_depth: int
    security_level: str
    def __init__(self, poly_degree: _Optional[int] = ..., scale_bits: _Optional[int] = ..., max_depth: _Optional[int] = ..., security_level: _Optional[str] = ...) -> None: ...

class Activation(_message.Message):
    __slots__ = ("node", "function", "range_low", "range_high", "degree", "coefficients", "max_error")
    NODE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    RANGE_LOW_FIELD_NUMBER: _ClassVar[int]
    RANGE_HIGH_FIELD_NUMBER: _ClassVar[int]
    DEGREE_FIELD_NUMBER: _ClassVar[int]
    COEFFICIENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ERROR_FIELD_NUMBER: _ClassVar[int]
    node: str
    function: str
    range_low: float
    range_high: float
    degree: int
    coefficients: _containers.RepeatedScalarFieldContainer[float]
    max_error: float
    def __init__(self, node: _Optional[str] = ..., function: _Optional[str] = ..., range_low: _Optional[float] = ..., range_high: _Optional[float] = ..., degree: _Optional[int] = ..., coefficients: _Optional[_Iterable[float]] = ..., max_error: _Optional[float] = ...) -> None: ...

class Accuracy(_message.Message):
    __slots__ = ("metric", "plaintext", "encrypted", "agreement", "test_samples", "poly_degree")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    TEST_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    POLY_DEGREE_FIELD_NUMBER: _ClassVar[int]
    metric: str
    plaintext: float
    encrypted: float
    agreement: float
    test_samples: int
    poly_degree: int
    def __init__(self, metric: _Optional[str] = ..., plaintext: _Optional[float] = ..., encrypted: _Optional[float] = ..., agreement: _Optional[float] = ..., test_samples: _Optional[int] = ..., poly_degree: _Optional[int] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("model_id", "name", "version", "task", "dataset", "description", "n_features", "n_outputs", "classes", "input_layout", "output_layout", "key_requirements", "recommended_key", "activations", "accuracy", "steps", "cost_units", "available")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    N_FEATURES_FIELD_NUMBER: _ClassVar[int]
    N_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    INPUT_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    KEY_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_KEY_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    name: str
    version: str
    task: str
    dataset: str
    description: str
    n_features: int
    n_outputs: int
    classes: _containers.RepeatedScalarFieldContainer[str]
    input_layout: Layout
    output_layout: Layout
    key_requirements: KeyRequirements
    recommended_key: RecommendedKey
    activations: _containers.RepeatedCompositeFieldContainer[Activation]
    accuracy: Accuracy
    steps: int
    cost_units: int
    available: bool
    def __init__(self, model_id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., task: _Optional[str] = ..., dataset: _Optional[str] = ..., description: _Optional[str] = ..., n_features: _Optional[int] = ..., n_outputs: _Optional[int] = ..., classes: _Optional[_Iterable[str]] = ..., input_layout: _Optional[_Union[Layout, _Mapping]] = ..., output_layout: _Optional[_Union[Layout, _Mapping]] = ..., key_requirements: _Optional[_Union[KeyRequirements, _Mapping]] = ..., recommended_key: _Optional[_Union[RecommendedKey, _Mapping]] = ..., activations: _Optional[_Iterable[_Union[Activation, _Mapping]]] = ..., accuracy: _Optional[_Union[Accuracy, _Mapping]] = ..., steps: _Optional[int] = ..., cost_units: _Optional[int] = ..., available: _Optional[bool] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("model_id",)
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    def __init__(self, model_id: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: Model
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("account_id", "model_id", "key_id", "ciphertext_id", "run_async", "op_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ASYNC_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    model_id: str
    key_id: str
    ciphertext_id: str
    run_async: bool
    op_id: str
    def __init__(self, account_id: _Optional[str] = ..., model_id: _Optional[str] = ..., key_id: _Optional[str] = ..., ciphertext_id: _Optional[str] = ..., run_async: _Optional[bool] = ..., op_id: _Optional[str] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("op_id", "model_id", "status", "result_ciphertext_id", "output_layout", "compute_time_ms", "cost_units", "cost_usd", "cost_jpy", "noise_budget_remaining", "level", "insecure_key")
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULT_CIPHERTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COST_JPY_FIELD_NUMBER: _ClassVar[int]
    NOISE_BUDGET_REMAINING_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INSECURE_KEY_FIELD_NUMBER: _ClassVar[int]
    op_id: str
    model_id: str
    status: str
    result_ciphertext_id: str
    output_layout: Layout
    compute_time_ms: float
    cost_units: int
    cost_usd: float
    cost_jpy: float
    noise_budget_remaining: float
    level: int
    insecure_key: bool
    def __init__(self, op_id: _Optional[str] = ..., model_id: _Optional[str] = ..., status: _Optional[str] = ..., result_ciphertext_id: _Optional[str] = ..., output_layout: _Optional[_Union[Layout, _Mapping]] = ..., compute_time_ms: _Optional[float] = ..., cost_units: _Optional[int] = ..., cost_usd: _Optional[float] = ..., cost_jpy: _Optional[float] = ..., noise_budget_remaining: _Optional[float] = ..., level: _Optional[int] = ..., insecure_key: _Optional[bool] = ...) -> None: ...
