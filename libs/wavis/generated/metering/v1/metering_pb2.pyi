from google.rpc import status_pb2 as _status_pb2
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
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: _common_pb2.ServiceInfo
    def __init__(self, info: _Optional[_Union[_common_pb2.ServiceInfo, _Mapping]] = ...) -> None: ...

class PlanLimits(_message.Message):
    __slots__ = ("plan", "daily_requests", "monthly_requests", "burst_requests", "monthly_fcu", "overage_allowed", "operations_limit", "max_keys", "max_key_bytes")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    DAILY_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BURST_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_FCU_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_KEY_BYTES_FIELD_NUMBER: _ClassVar[int]
    plan: str
    daily_requests: int
    monthly_requests: int
    burst_requests: int
    monthly_fcu: int
    overage_allowed: bool
    operations_limit: int
    max_keys: int
    max_key_bytes: int
    def __init__(self, plan: _Optional[str] = ..., daily_requests: _Optional[int] = ..., monthly_requests: _Optional[int] = ..., burst_requests: _Optional[int] = ..., monthly_fcu: _Optional[int] = ..., overage_allowed: _Optional[bool] = ..., operations_limit: _Optional[int] = ..., max_keys: _Optional[int] = ..., max_key_bytes: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("account_id", "email", "plan", "created_at", "expires_at")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    plan: str
    created_at: str
    expires_at: str
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ..., plan: _Optional[str] = ..., created_at: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("prefix", "account_id", "name", "role", "environment", "created_at", "last_used_at", "expires_at")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    account_id: str
    name: str
    role: str
    environment: str
    created_at: str
    last_used_at: str
    expires_at: str
    def __init__(self, prefix: _Optional[str] = ..., account_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ..., environment: _Optional[str] = ..., created_at: _Optional[str] = ..., last_used_at: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class CreateAccountRequest(_message.Message):
    __slots__ = ("email", "plan", "environment")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    email: str
    plan: str
    environment: str
    def __init__(self, email: _Optional[str] = ..., plan: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class CreateAccountResponse(_message.Message):
    __slots__ = ("account", "api_key", "key")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    account: Account
    api_key: str
    key: ApiKey
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., api_key: _Optional[str] = ..., key: _Optional[_Union[ApiKey, _Mapping]] = ...) -> None: ...

class CreateTrialAccountRequest(_message.Message):
    __slots__ = ("client_ip",)
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    client_ip: str
    def __init__(self, client_ip: _Optional[str] = ...) -> None: ...

class CreateTrialAccountResponse(_message.Message):
    __slots__ = ("account", "api_key", "key", "operations_limit")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    api_key: str
    key: ApiKey
    operations_limit: int
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., api_key: _Optional[str] = ..., key: _Optional[_Union[ApiKey, _Mapping]] = ..., operations_limit: _Optional[int] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("limit", "cursor")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "has_more", "next_cursor")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    has_more: bool
    next_cursor: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ..., has_more: _Optional[bool] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class SetPlanRequest(_message.Message):
    __slots__ = ("account_id", "plan")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    plan: str
    def __init__(self, account_id: _Optional[str] = ..., plan: _Optional[str] = ...) -> None: ...

class SetPlanResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class CreateApiKeyRequest(_message.Message):
    __slots__ = ("account_id", "name", "role", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    name: str
    role: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class CreateApiKeyResponse(_message.Message):
    __slots__ = ("api_key", "key")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    key: ApiKey
    def __init__(self, api_key: _Optional[str] = ..., key: _Optional[_Union[ApiKey, _Mapping]] = ...) -> None: ...

class ListApiKeysRequest(_message.Message):
    __slots__ = ("account_id", "limit", "cursor")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    limit: int
    cursor: str
    def __init__(self, account_id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListApiKeysResponse(_message.Message):
    __slots__ = ("keys", "has_more", "next_cursor")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[ApiKey]
    has_more: bool
    next_cursor: str
    def __init__(self, keys: _Optional[_Iterable[_Union[ApiKey, _Mapping]]] = ..., has_more: _Optional[bool] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class RevokeApiKeyRequest(_message.Message):
    __slots__ = ("account_id", "prefix")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    prefix: str
    def __init__(self, account_id: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class RevokeApiKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RevokeTrialKeyRequest(_message.Message):
    __slots__ = ("key_prefix", "api_key")
    KEY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    key_prefix: str
    api_key: str
    def __init__(self, key_prefix: _Optional[str] = ..., api_key: _Optional[str] = ...) -> None: ...

class RevokeTrialKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RotateApiKeyRequest(_message.Message):
    __slots__ = ("account_id", "prefix")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    prefix: str
    def __init__(self, account_id: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class RotateApiKeyResponse(_message.Message):
    __slots__ = ("api_key", "key", "old_key_prefix", "grace_period_ends_at")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OLD_KEY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    key: ApiKey
    old_key_prefix: str
    grace_period_ends_at: str
    def __init__(self, api_key: _Optional[str] = ..., key: _Optional[_Union[ApiKey, _Mapping]] = ..., old_key_prefix: _Optional[str] = ..., grace_period_ends_at: _Optional[str] = ...) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("api_key",)
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    def __init__(self, api_key: _Optional[str] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("account", "key", "limits")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    account: Account
    key: ApiKey
    limits: PlanLimits
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., key: _Optional[_Union[ApiKey, _Mapping]] = ..., limits: _Optional[_Union[PlanLimits, _Mapping]] = ...) -> None: ...

class GetPlanLimitsRequest(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: str
    def __init__(self, plan: _Optional[str] = ...) -> None: ...

class GetPlanLimitsResponse(_message.Message):
    __slots__ = ("limits",)
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    limits: PlanLimits
    def __init__(self, limits: _Optional[_Union[PlanLimits, _Mapping]] = ...) -> None: ...

class WatchRevocationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchRevocationsResponse(_message.Message):
    __slots__ = ("prefix",)
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    def __init__(self, prefix: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("account_id", "op_id", "operation", "fcu", "operation_already_counted", "record", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OP_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    FCU_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ALREADY_COUNTED_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    op_id: str
    operation: str
    fcu: int
    operation_already_counted: bool
    record: bool
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., op_id: _Optional[str] = ..., operation: _Optional[str] = ..., fcu: _Optional[int] = ..., operation_already_counted: _Optional[bool] = ..., record: _Optional[bool] = ..., environment: _Optional[str] = ...) -> None: ...

class ReserveUsageResponse(_message.Message):
    __slots__ = ("cost_units", "cost_usd", "cost_jpy", "operations_remaining", "recorded", "headroom_fcu")
    COST_UNITS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    COST_JPY_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FCU_FIELD_NUMBER: _ClassVar[int]
    cost_units: int
    cost_usd: float
    cost_jpy: float
    operations_remaining: int
    recorded: bool
    headroom_fcu: int
    def __init__(self, cost_units: _Optional[int] = ..., cost_usd: _Optional[float] = ..., cost_jpy: _Optional[float] = ..., operations_remaining: _Optional[int] = ..., recorded: _Optional[bool] = ..., headroom_fcu: _Optional[int] = ...) -> None: ...

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

class Budget(_message.Message):
    __slots__ = ("monthly_cap_usd", "mode", "spent_usd", "period", "updated_at")
    MONTHLY_CAP_USD_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SPENT_USD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    monthly_cap_usd: float
    mode: str
    spent_usd: float
    period: str
    updated_at: str
    def __init__(self, monthly_cap_usd: _Optional[float] = ..., mode: _Optional[str] = ..., spent_usd: _Optional[float] = ..., period: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class SetBudgetRequest(_message.Message):
    __slots__ = ("account_id", "monthly_cap_usd", "mode", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_CAP_USD_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    monthly_cap_usd: float
    mode: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., monthly_cap_usd: _Optional[float] = ..., mode: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class SetBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class GetBudgetRequest(_message.Message):
    __slots__ = ("account_id", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class GetBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("plan", "status", "billing_cycle", "email", "current_period_start", "current_period_end", "stripe_customer_id", "stripe_subscription_id", "cancelled_at", "pending_plan", "pending_plan_effective_at")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    STRIPE_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STRIPE_SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    PENDING_PLAN_FIELD_NUMBER: _ClassVar[int]
    PENDING_PLAN_EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    plan: str
    status: str
    billing_cycle: str
    email: str
    current_period_start: str
    current_period_end: str
    stripe_customer_id: str
    stripe_subscription_id: str
    cancelled_at: str
    pending_plan: str
    pending_plan_effective_at: str
    def __init__(self, plan: _Optional[str] = ..., status: _Optional[str] = ..., billing_cycle: _Optional[str] = ..., email: _Optional[str] = ..., current_period_start: _Optional[str] = ..., current_period_end: _Optional[str] = ..., stripe_customer_id: _Optional[str] = ..., stripe_subscription_id: _Optional[str] = ..., cancelled_at: _Optional[str] = ..., pending_plan: _Optional[str] = ..., pending_plan_effective_at: _Optional[str] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("account_id", "plan", "email", "billing_cycle", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    plan: str
    email: str
    billing_cycle: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., plan: _Optional[str] = ..., email: _Optional[str] = ..., billing_cycle: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("subscription", "checkout_url", "checkout_session_id")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHECKOUT_URL_FIELD_NUMBER: _ClassVar[int]
    CHECKOUT_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    checkout_url: str
    checkout_session_id: str
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., checkout_url: _Optional[str] = ..., checkout_session_id: _Optional[str] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ("account_id", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class GetSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CancelSubscriptionRequest(_message.Message):
    __slots__ = ("account_id", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class CancelSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ("kind", "description", "operation", "quantity", "fcu", "amount_usd")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    FCU_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_USD_FIELD_NUMBER: _ClassVar[int]
    kind: str
    description: str
    operation: str
    quantity: int
    fcu: int
    amount_usd: float
    def __init__(self, kind: _Optional[str] = ..., description: _Optional[str] = ..., operation: _Optional[str] = ..., quantity: _Optional[int] = ..., fcu: _Optional[int] = ..., amount_usd: _Optional[float] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("invoice_id", "period", "status", "currency", "plan", "lines", "total_fcu", "usage_usd", "overage_fcu", "total_usd", "period_start", "period_end", "finalized", "created_at", "paid_at", "stripe_invoice_id")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FCU_FIELD_NUMBER: _ClassVar[int]
    USAGE_USD_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_FCU_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    FINALIZED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    STRIPE_INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    period: str
    status: str
    currency: str
    plan: str
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    total_fcu: int
    usage_usd: float
    overage_fcu: int
    total_usd: float
    period_start: str
    period_end: str
    finalized: bool
    created_at: str
    paid_at: str
    stripe_invoice_id: str
    def __init__(self, invoice_id: _Optional[str] = ..., period: _Optional[str] = ..., status: _Optional[str] = ..., currency: _Optional[str] = ..., plan: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., total_fcu: _Optional[int] = ..., usage_usd: _Optional[float] = ..., overage_fcu: _Optional[int] = ..., total_usd: _Optional[float] = ..., period_start: _Optional[str] = ..., period_end: _Optional[str] = ..., finalized: _Optional[bool] = ..., created_at: _Optional[str] = ..., paid_at: _Optional[str] = ..., stripe_invoice_id: _Optional[str] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("account_id", "limit", "cursor", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    limit: int
    cursor: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices", "has_more", "next_cursor")
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    has_more: bool
    next_cursor: str
    def __init__(self, invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ..., has_more: _Optional[bool] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetInvoiceRequest(_message.Message):
    __slots__ = ("account_id", "invoice_id", "environment")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    invoice_id: str
    environment: str
    def __init__(self, account_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class GetInvoiceResponse(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class HandleStripeWebhookRequest(_message.Message):
    __slots__ = ("payload", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signature: str
    def __init__(self, payload: _Optional[bytes] = ..., signature: _Optional[str] = ...) -> None: ...

class HandleStripeWebhookResponse(_message.Message):
    __slots__ = ("event_id", "type", "duplicate", "handled")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    HANDLED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: str
    duplicate: bool
    handled: bool
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., duplicate: _Optional[bool] = ..., handled: _Optional[bool] = ...) -> None: ...

class CheckStripeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CheckStripeResponse(_message.Message):
    __slots__ = ("configured", "reachable", "error")
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    configured: bool
    reachable: bool
    error: str
    def __init__(self, configured: _Optional[bool] = ..., reachable: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...
