from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReserveOperationsRequest(_message.Message):
    __slots__ = ("account_id", "count")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    count: int
    def __init__(self, account_id: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class ReserveOperationsResponse(_message.Message):
    __slots__ = ("remaining",)
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    remaining: int
    def __init__(self, remaining: _Optional[int] = ...) -> None: ...

class ReleaseOperationsRequest(_message.Message):
    __slots__ = ("account_id", "count")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    count: int
    def __init__(self, account_id: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class ReleaseOperationsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReserveUsageRequest(_message.Message):
    __slots__ = ("account_id", "op_id", "operation", "fcu", "record", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    FCU_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    op_id: str
    operation: str
    fcu: int
    record: bool
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., op_id: _Optional[str] = ..., operation: _Optional[str] = ..., fcu: _Optional[int] = ..., record: _Optional[bool] = ..., environment: _Optional[str] = ...) -> None: ...

class ReserveUsageResponse(_message.Message):
    __slots__ = ("cost_units", "cost_usd", "cost_jpy", "recorded", "headroom_fcu")
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COST_JPY_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FCU_FIELD_NUMBER: _ClassVar[int]
    cost_units: int
    cost_usd: float
    cost_jpy: float
    recorded: bool
    headroom_fcu: int
    def __init__(self, cost_units: _Optional[int] = ..., cost_usd: _Optional[float] = ..., cost_jpy: _Optional[float] = ..., recorded: _Optional[bool] = ..., headroom_fcu: _Optional[int] = ...) -> None: ...

class ReserveUsageStreamRequest(_message.Message):
    __slots__ = ("sequence", "reservation", "request_id")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    reservation: ReserveUsageRequest
    request_id: str
    def __init__(self, sequence: _Optional[int] = ..., reservation: _Optional[_Union[ReserveUsageRequest, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReserveUsageStreamResponse(_message.Message):
    __slots__ = ("sequence", "reserved", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    reserved: ReserveUsageResponse
    error: _status_pb2.Status
    def __init__(self, sequence: _Optional[int] = ..., reserved: _Optional[_Union[ReserveUsageResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class CommitUsageRequest(_message.Message):
    __slots__ = ("account_id", "op_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    op_id: str
    def __init__(self, account_id: _Optional[str] = ..., op_id: _Optional[str] = ...) -> None: ...

class CommitUsageResponse(_message.Message):
    __slots__ = ("recorded",)
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    recorded: bool
    def __init__(self, recorded: _Optional[bool] = ...) -> None: ...

class ReleaseUsageRequest(_message.Message):
    __slots__ = ("account_id", "op_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    op_id: str
    def __init__(self, account_id: _Optional[str] = ..., op_id: _Optional[str] = ...) -> None: ...

class ReleaseUsageResponse(_message.Message):
    __slots__ = ("released",)
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    released: bool
    def __init__(self, released: _Optional[bool] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("account_id", "period", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    period: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., period: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class OperationUsage(_message.Message):
    __slots__ = ("operation", "count", "fcu", "cost_usd")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FCU_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    operation: str
    count: int
    fcu: int
    cost_usd: float
    def __init__(self, operation: _Optional[str] = ..., count: _Optional[int] = ..., fcu: _Optional[int] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class DayUsage(_message.Message):
    __slots__ = ("date", "fcu", "cost_usd")
    DATE_FIELD_NUMBER: _ClassVar[int]
    FCU_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    date: str
    fcu: int
    cost_usd: float
    def __init__(self, date: _Optional[str] = ..., fcu: _Optional[int] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("period", "total_fcu", "total_cost_usd", "total_cost_jpy", "by_operation", "by_day")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FCU_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_USD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_JPY_FIELD_NUMBER: _ClassVar[int]
    BY_OPERATION_FIELD_NUMBER: _ClassVar[int]
    BY_DAY_FIELD_NUMBER: _ClassVar[int]
    period: str
    total_fcu: int
    total_cost_usd: float
    total_cost_jpy: float
    by_operation: _containers.RepeatedCompositeFieldContainer[OperationUsage]
    by_day: _containers.RepeatedCompositeFieldContainer[DayUsage]
    def __init__(self, period: _Optional[str] = ..., total_fcu: _Optional[int] = ..., total_cost_usd: _Optional[float] = ..., total_cost_jpy: _Optional[float] = ..., by_operation: _Optional[_Iterable[_Union[OperationUsage, _Mapping]]] = ..., by_day: _Optional[_Iterable[_Union[DayUsage, _Mapping]]] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("account_id", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("plan", "unlimited", "fcu_included", "fcu_used", "fcu_reserved", "fcu_remaining", "cost_usd", "billing_period_start", "next_reset", "days_until_reset", "daily_avg_fcu", "days_remaining_at_current_rate", "projected_reset_balance", "will_exhaust_before_reset")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    FCU_INCLUDED_FIELD_NUMBER: _ClassVar[int]
    FCU_USED_FIELD_NUMBER: _ClassVar[int]
    FCU_RESERVED_FIELD_NUMBER: _ClassVar[int]
    FCU_REMAINING_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    BILLING_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    NEXT_RESET_FIELD_NUMBER: _ClassVar[int]
    DAYS_UNTIL_RESET_FIELD_NUMBER: _ClassVar[int]
    DAILY_AVG_FCU_FIELD_NUMBER: _ClassVar[int]
    DAYS_REMAINING_AT_CURRENT_RATE_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_RESET_BALANCE_FIELD_NUMBER: _ClassVar[int]
    WILL_EXHAUST_BEFORE_RESET_FIELD_NUMBER: _ClassVar[int]
    plan: str
    unlimited: bool
    fcu_included: int
    fcu_used: int
    fcu_reserved: int
    fcu_remaining: int
    cost_usd: float
    billing_period_start: str
    next_reset: str
    days_until_reset: int
    daily_avg_fcu: float
    days_remaining_at_current_rate: int
    projected_reset_balance: int
    will_exhaust_before_reset: bool
    def __init__(self, plan: _Optional[str] = ..., unlimited: _Optional[bool] = ..., fcu_included: _Optional[int] = ..., fcu_used: _Optional[int] = ..., fcu_reserved: _Optional[int] = ..., fcu_remaining: _Optional[int] = ..., cost_usd: _Optional[float] = ..., billing_period_start: _Optional[str] = ..., next_reset: _Optional[str] = ..., days_until_reset: _Optional[int] = ..., daily_avg_fcu: _Optional[float] = ..., days_remaining_at_current_rate: _Optional[int] = ..., projected_reset_balance: _Optional[int] = ..., will_exhaust_before_reset: _Optional[bool] = ...) -> None: ...
