from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ServiceInfo(_message.Message):
    __slots__ = ("service_name", "version", "instance_id", "uptime_seconds", "fhe_engine")
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FHE_ENGINE_FIELD_NUMBER: _ClassVar[int]
    service_name: str
    version: str
    instance_id: str
    uptime_seconds: float
    fhe_engine: str
    def __init__(self, service_name: _Optional[str] = ..., version: _Optional[str] = ..., instance_id: _Optional[str] = ..., uptime_seconds: _Optional[float] = ..., fhe_engine: _Optional[str] = ...) -> None: ...
