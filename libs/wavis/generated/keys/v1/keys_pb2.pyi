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
    __slots__ = ("info", "pending_generations")
    INFO_FIELD_NUMBER: _ClassVar[int]
    PENDING_GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    info: _common_pb2.ServiceInfo
    pending_generations: int
    def __init__(self, info: _Optional[_Union[_common_pb2.ServiceInfo, _Mapping]] = ..., pending_generations: _Optional[int] = ...) -> None: ...

class CkksParams(_message.Message):
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

class KeyLimits(_message.Message):
    __slots__ = ("max_keys", "max_key_bytes")
    MAX_KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_KEY_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_keys: int
    max_key_bytes: int
    def __init__(self, max_keys: _Optional[int] = ..., max_key_bytes: _Optional[int] = ...) -> None: ...

class Key(_message.Message):
    __slots__ = ("key_id", "account_id", "scheme", "mode", "status", "failure", "params", "slot_count", "max_level", "rotations", "preset", "n", "big_n", "size_bytes", "security_bits", "created_at", "scaling_technique", "components", "bootstrappable", "level_budget", "client_key_tag")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    SLOT_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    BIG_N_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SECURITY_BITS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SCALING_TECHNIQUE_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAPPABLE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_BUDGET_FIELD_NUMBER: _ClassVar[int]
    CLIENT_KEY_TAG_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    account_id: str
    scheme: str
    mode: str
    status: str
    failure: str
    params: CkksParams
    slot_count: int
    max_level: int
    rotations: _containers.RepeatedScalarFieldContainer[int]
    preset: str
    n: int
    big_n: int
    size_bytes: int
    security_bits: int
    created_at: str
    scaling_technique: str
    components: _containers.RepeatedScalarFieldContainer[str]
    bootstrappable: bool
    level_budget: _containers.RepeatedScalarFieldContainer[int]
    client_key_tag: str
    def __init__(self, key_id: _Optional[str] = ..., account_id: _Optional[str] = ..., scheme: _Optional[str] = ..., mode: _Optional[str] = ..., status: _Optional[str] = ..., failure: _Optional[str] = ..., params: _Optional[_Union[CkksParams, _Mapping]] = ..., slot_count: _Optional[int] = ..., max_level: _Optional[int] = ..., rotations: _Optional[_Iterable[int]] = ..., preset: _Optional[str] = ..., n: _Optional[int] = ..., big_n: _Optional[int] = ..., size_bytes: _Optional[int] = ..., security_bits: _Optional[int] = ..., created_at: _Optional[str] = ..., scaling_technique: _Optional[str] = ..., components: _Optional[_Iterable[str]] = ..., bootstrappable: _Optional[bool] = ..., level_budget: _Optional[_Iterable[int]] = ..., client_key_tag: _Optional[str] = ...) -> None: ...

class GenerateKeyRequest(_message.Message):
    __slots__ = ("account_id", "scheme", "params", "rotations", "preset", "limits", "bootstrappable", "has_rotations")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAPPABLE_FIELD_NUMBER: _ClassVar[int]
    HAS_ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    scheme: str
    params: CkksParams
    rotations: _containers.RepeatedScalarFieldContainer[int]
    preset: str
    limits: KeyLimits
    bootstrappable: bool
    has_rotations: bool
    def __init__(self, account_id: _Optional[str] = ..., scheme: _Optional[str] = ..., params: _Optional[_Union[CkksParams, _Mapping]] = ..., rotations: _Optional[_Iterable[int]] = ..., preset: _Optional[str] = ..., limits: _Optional[_Union[KeyLimits, _Mapping]] = ..., bootstrappable: _Optional[bool] = ..., has_rotations: _Optional[bool] = ...) -> None: ...

class GenerateKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: Key
    def __init__(self, key: _Optional[_Union[Key, _Mapping]] = ...) -> None: ...

class UploadKeyHeader(_message.Message):
    __slots__ = ("account_id", "scheme", "component_sizes", "limits")
    class ComponentSizesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_SIZES_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    scheme: str
    component_sizes: _containers.ScalarMap[str, int]
    limits: KeyLimits
    def __init__(self, account_id: _Optional[str] = ..., scheme: _Optional[str] = ..., component_sizes: _Optional[_Mapping[str, int]] = ..., limits: _Optional[_Union[KeyLimits, _Mapping]] = ...) -> None: ...

class UploadKeyChunk(_message.Message):
    __slots__ = ("component", "data")
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    component: str
    data: bytes
    def __init__(self, component: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadKeyRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadKeyHeader
    chunk: UploadKeyChunk
    def __init__(self, header: _Optional[_Union[UploadKeyHeader, _Mapping]] = ..., chunk: _Optional[_Union[UploadKeyChunk, _Mapping]] = ...) -> None: ...

class UploadKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: Key
    def __init__(self, key: _Optional[_Union[Key, _Mapping]] = ...) -> None: ...

class CreateUploadRequest(_message.Message):
    __slots__ = ("account_id", "scheme", "kind", "size_bytes", "sha256", "limits")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    scheme: str
    kind: str
    size_bytes: int
    sha256: str
    limits: KeyLimits
    def __init__(self, account_id: _Optional[str] = ..., scheme: _Optional[str] = ..., kind: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., limits: _Optional[_Union[KeyLimits, _Mapping]] = ...) -> None: ...

class Upload(_message.Message):
    __slots__ = ("upload_id", "part_size", "part_count", "expires_at")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    PART_SIZE_FIELD_NUMBER: _ClassVar[int]
    PART_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    part_size: int
    part_count: int
    expires_at: str
    def __init__(self, upload_id: _Optional[str] = ..., part_size: _Optional[int] = ..., part_count: _Optional[int] = ..., expires_at: _Optional[str] = ...) -> None: ...

class CreateUploadResponse(_message.Message):
    __slots__ = ("upload",)
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    upload: Upload
    def __init__(self, upload: _Optional[_Union[Upload, _Mapping]] = ...) -> None: ...

class PutUploadPartHeader(_message.Message):
    __slots__ = ("account_id", "upload_id", "part_number")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    upload_id: str
    part_number: int
    def __init__(self, account_id: _Optional[str] = ..., upload_id: _Optional[str] = ..., part_number: _Optional[int] = ...) -> None: ...

class PutUploadPartRequest(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: PutUploadPartHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[PutUploadPartHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class PutUploadPartResponse(_message.Message):
    __slots__ = ("size_bytes",)
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    size_bytes: int
    def __init__(self, size_bytes: _Optional[int] = ...) -> None: ...

class CompleteUploadRequest(_message.Message):
    __slots__ = ("account_id", "upload_id", "limits")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    upload_id: str
    limits: KeyLimits
    def __init__(self, account_id: _Optional[str] = ..., upload_id: _Optional[str] = ..., limits: _Optional[_Union[KeyLimits, _Mapping]] = ...) -> None: ...

class CompleteUploadResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: Key
    def __init__(self, key: _Optional[_Union[Key, _Mapping]] = ...) -> None: ...

class GetUploadRequest(_message.Message):
    __slots__ = ("account_id", "upload_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    upload_id: str
    def __init__(self, account_id: _Optional[str] = ..., upload_id: _Optional[str] = ...) -> None: ...

class UploadPart(_message.Message):
    __slots__ = ("part_number", "size_bytes", "sha256")
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    part_number: int
    size_bytes: int
    sha256: bytes
    def __init__(self, part_number: _Optional[int] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[bytes] = ...) -> None: ...

class GetUploadResponse(_message.Message):
    __slots__ = ("upload", "scheme", "kind", "size_bytes", "sha256", "parts")
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    upload: Upload
    scheme: str
    kind: str
    size_bytes: int
    sha256: str
    parts: _containers.RepeatedCompositeFieldContainer[UploadPart]
    def __init__(self, upload: _Optional[_Union[Upload, _Mapping]] = ..., scheme: _Optional[str] = ..., kind: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[UploadPart, _Mapping]]] = ...) -> None: ...

class GetKeyRequest(_message.Message):
    __slots__ = ("account_id", "key_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    key_id: str
    def __init__(self, account_id: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class GetKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: Key
    def __init__(self, key: _Optional[_Union[Key, _Mapping]] = ...) -> None: ...

class ListKeysRequest(_message.Message):
    __slots__ = ("account_id", "limit", "cursor")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    limit: int
    cursor: str
    def __init__(self, account_id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ("keys", "has_more", "next_cursor")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[Key]
    has_more: bool
    next_cursor: str
    def __init__(self, keys: _Optional[_Iterable[_Union[Key, _Mapping]]] = ..., has_more: _Optional[bool] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class DeleteKeyRequest(_message.Message):
    __slots__ = ("account_id", "key_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    key_id: str
    def __init__(self, account_id: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class DeleteKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FetchKeyMaterialRequest(_message.Message):
    __slots__ = ("account_id", "key_id", "component")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    key_id: str
    component: str
    def __init__(self, account_id: _Optional[str] = ..., key_id: _Optional[str] = ..., component: _Optional[str] = ...) -> None: ...

class FetchKeyMaterialResponse(_message.Message):
    __slots__ = ("data", "total_size")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    total_size: int
    def __init__(self, data: _Optional[bytes] = ..., total_size: _Optional[int] = ...) -> None: ...

class WatchKeyDeletionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchKeyDeletionsResponse(_message.Message):
    __slots__ = ("key_id", "account_id")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    account_id: str
    def __init__(self, key_id: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...
