"""Every model of the `marketplace` app, re-exported from the package that owns it.

Django registers the models it finds imported here (app label `marketplace`), and
migrations and other apps refer to `marketplace.models.<name>`: this module must import
every model (and every callable a migration names, such as the id defaults).
"""

from __future__ import annotations

from marketplace.catalog.models import (
    FULFILLMENT_FOR_TYPE,
    TYPE_FOR_FULFILLMENT,
    FulfillmentType,
    PricingModel,
    Service,
    ServiceQuerySet,
    ServiceType,
    _service_id,
)
from marketplace.deals.models import (
    Dispute,
    Job,
    JobTransition,
    Proposal,
    Thread,
    ThreadMessage,
    ThreadTransition,
    Transition,
    _job_id,
    _message_id,
    _proposal_id,
    _thread_id,
    attachment_path,
)
from marketplace.notify.models import WebhookDelivery, _delivery_id
from marketplace.plans.models import (
    PERIOD_LENGTH,
    BillingPeriod,
    CoveredUse,
    Plan,
    RenewalAttempt,
    Subscription,
    SubscriptionPeriod,
    SubscriptionTransition,
    _plan_id,
    _subscription_id,
)
from marketplace.products.models import Product, ProductPurchase, _product_id, _purchase_id

__all__ = [
    "PERIOD_LENGTH",
    "BillingPeriod",
    "CoveredUse",
    "Plan",
    "Product",
    "ProductPurchase",
    "RenewalAttempt",
    "Subscription",
    "SubscriptionPeriod",
    "SubscriptionTransition",
    "_plan_id",
    "_product_id",
    "_purchase_id",
    "_subscription_id",
    "FULFILLMENT_FOR_TYPE",
    "TYPE_FOR_FULFILLMENT",
    "Dispute",
    "FulfillmentType",
    "Job",
    "JobTransition",
    "PricingModel",
    "Proposal",
    "Service",
    "ServiceQuerySet",
    "ServiceType",
    "Thread",
    "ThreadMessage",
    "ThreadTransition",
    "Transition",
    "WebhookDelivery",
    "_delivery_id",
    "_job_id",
    "_message_id",
    "_proposal_id",
    "_service_id",
    "_thread_id",
    "attachment_path",
]
