from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
