"""The plans API: providers list plans; agents browse, subscribe (the first period, x402
or balance) and manage their subscriptions (X-API-Key)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.deals.access import KEY_RESPONSES, PAID_RESPONSES, pays_from_balance
from marketplace.deals.purchases import parse_max_price
from marketplace.plans import services
from marketplace.plans.models import Plan
from marketplace.plans.selectors import plan_get, plans_list, subscription_get, subscriptions_of
from marketplace.plans.serializers import (
    PlanInput,
    PlanListInput,
    PlanOutput,
    PlanUpdateInput,
    SubscriptionListInput,
    SubscriptionOutput,
)
from payments.callers import api_key_caller
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.models import Participant
from the402.lib.api import ERROR_RESPONSES, paged, validated
from the402.lib.errors import ApplicationError

MAX_PRICE_PARAM = OpenApiParameter(
    "max_price",
    str,
    description="The most you will pay (agent price, USD; or the X-Max-Price header). A higher "
    "price is a 409 price_changed. Without it, a balance payment within 15 minutes of a price "
    "change is refused the same way.",
    required=False,
)


def _provider(request: Request) -> Participant:
    provider = api_key_caller(request)
    if not provider.is_provider:
        raise ApplicationError(
            "Only providers can do this; register with type provider or both",
            code="not_a_provider",
            status=403,
        )
    return provider


def _owned(plan_id: str, request: Request) -> Plan:
    caller = api_key_caller(request)
    plan = plan_get(plan_id)
    if plan.provider_id != caller.pk:
        raise ApplicationError("Only the plan's provider can do this", code="forbidden", status=403)
    return plan


class PlansView(APIView):
    """Browse plans (free), or create one (X-API-Key of a provider)."""

    endpoint_price = "free"
    endpoint_auth = "none (GET); X-API-Key of a provider (POST)"

    @extend_schema(
        operation_id="plan_list",
        summary="List subscription plans",
        parameters=[PlanListInput],
        responses={200: PlanOutput(many=True), **ERROR_RESPONSES},
        tags=["plans"],
    )
    def get(self, request: Request) -> Response:
        query = validated(PlanListInput, request.query_params)
        plans = plans_list(provider=query.get("provider"))
        limit, offset = query["limit"], query["offset"]
        page = list(plans[offset : offset + limit])
        return Response(
            paged(
                "plans",
                PlanOutput(page, many=True).data,
                limit=limit,
                offset=offset,
                total=plans.count(),
            )
        )

    @extend_schema(
        operation_id="plan_create",
        summary="Create a subscription plan",
        request=PlanInput,
        responses={201: PlanOutput, **KEY_RESPONSES},
        tags=["plans"],
    )
    def post(self, request: Request) -> Response:
        provider = _provider(request)
        plan = services.plan_create(provider=provider, **validated(PlanInput, request.data))
        return Response(PlanOutput(plan).data, status=201)


class PlanView(APIView):
    """A plan: anyone reads it; its provider changes or deletes it (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "none (GET); X-API-Key of the owner (PUT, DELETE)"

    @extend_schema(
        operation_id="plan_detail",
        summary="Get a plan",
        responses={200: PlanOutput, 404: OpenApiResponse(description="Unknown plan")},
        tags=["plans"],
    )
    def get(self, request: Request, plan_id: str) -> Response:
        return Response(PlanOutput(plan_get(plan_id)).data)

    @extend_schema(
        operation_id="plan_update",
        summary="Update a plan (a new price applies to new subscribers)",
        request=PlanUpdateInput,
        responses={200: PlanOutput, **KEY_RESPONSES},
        tags=["plans"],
    )
    def put(self, request: Request, plan_id: str) -> Response:
        plan = _owned(plan_id, request)
        fields = validated(PlanUpdateInput, request.data)
        updated = services.plan_update(plan=plan, provider=plan.provider, **fields)
        return Response(PlanOutput(plan_get(updated.public_id)).data)

    @extend_schema(
        operation_id="plan_delete",
        summary="Delete a plan (no new subscribers; existing ones run to their period end)",
        request=None,
        responses={200: PlanOutput, **KEY_RESPONSES},
        tags=["plans"],
    )
    def delete(self, request: Request, plan_id: str) -> Response:
        plan = _owned(plan_id, request)
        services.plan_delete(plan=plan, provider=plan.provider)
        return Response(PlanOutput(plan_get(plan_id, include_deleted=True)).data)


class SubscribeView(PaidView):
    """Subscribe and pay the first period (the plan's agent price), by x402 or balance.
    Needs a registered participant with an API key: renewals come from its balance."""

    endpoint_price = "the plan's agent price"
    endpoint_auth = "x402 or balance (a registered participant)"

    def plan(self, plan_id: str) -> Plan:
        return self.priced(lambda: plan_get(plan_id))

    def price(self, request: Request, **kwargs: Any) -> Price:
        return services.plan_price(self.plan(kwargs["plan_id"]))

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        max_price = parse_max_price(
            request.query_params.get("max_price"), request.headers.get("X-Max-Price")
        )
        return services.subscribe_validate(
            plan=self.plan(kwargs["plan_id"]),
            payer=payer,
            max_price=max_price,
            by_balance=pays_from_balance(request),
        )

    def perform(self, request: Request, paid: Paid, data: Plan, **kwargs: Any) -> Response:
        sub = services.subscribe_perform(plan=data, paid=paid)
        return Response(SubscriptionOutput(sub).data, status=201)

    @extend_schema(
        operation_id="plan_subscribe",
        summary="Subscribe to a plan (pays the first period)",
        parameters=[MAX_PRICE_PARAM],
        request=None,
        responses={
            201: SubscriptionOutput,
            **PAID_RESPONSES,
            409: OpenApiResponse(description="already_subscribed or price_changed (not charged)"),
        },
        tags=["plans"],
    )
    def post(self, request: Request, plan_id: str) -> Response:
        return self.gate(request, plan_id=plan_id)


class SubscriptionsView(APIView):
    """Your subscriptions (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="subscription_list",
        summary="List your subscriptions",
        parameters=[SubscriptionListInput],
        responses={200: SubscriptionOutput(many=True), **KEY_RESPONSES},
        tags=["plans"],
    )
    def get(self, request: Request) -> Response:
        agent = api_key_caller(request)
        query = validated(SubscriptionListInput, request.query_params)
        subs = subscriptions_of(agent, status=query.get("status")).prefetch_related(
            "plan__services"
        )
        limit, offset = query["limit"], query["offset"]
        page = list(subs[offset : offset + limit])
        return Response(
            paged(
                "subscriptions",
                SubscriptionOutput(page, many=True).data,
                limit=limit,
                offset=offset,
                total=subs.count(),
            )
        )


class SubscriptionView(APIView):
    """One subscription (X-API-Key of its agent, or of the plan's provider)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="subscription_detail",
        summary="Get a subscription",
        responses={200: SubscriptionOutput, **KEY_RESPONSES},
        tags=["plans"],
    )
    def get(self, request: Request, subscription_id: str) -> Response:
        sub = subscription_get(subscription_id, agent=api_key_caller(request))
        return Response(SubscriptionOutput(sub).data)


class SubscriptionActionView(APIView):
    """A move of a subscription by its agent (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (the subscriber)"
    move = staticmethod(services.subscription_cancel)

    def act(self, request: Request, subscription_id: str) -> Response:
        agent = api_key_caller(request)
        sub = subscription_get(subscription_id, agent=agent)
        moved = self.move(sub=sub, agent=agent)
        return Response(SubscriptionOutput(subscription_get(moved.public_id, agent=agent)).data)


class SubscriptionCancelView(SubscriptionActionView):
    """Cancel: no renewal, access to the period end, no refund."""

    move = staticmethod(services.subscription_cancel)

    @extend_schema(
        operation_id="subscription_cancel",
        summary="Cancel a subscription (access continues to the period end)",
        request=None,
        responses={200: SubscriptionOutput, **KEY_RESPONSES},
        tags=["plans"],
    )
    def post(self, request: Request, subscription_id: str) -> Response:
        return self.act(request, subscription_id)


class SubscriptionPauseView(SubscriptionActionView):
    """Pause: no renewal; access to the period end, then it expires unless resumed."""

    move = staticmethod(services.subscription_pause)

    @extend_schema(
        operation_id="subscription_pause",
        summary="Pause a subscription (no renewal)",
        request=None,
        responses={200: SubscriptionOutput, **KEY_RESPONSES},
        tags=["plans"],
    )
    def post(self, request: Request, subscription_id: str) -> Response:
        return self.act(request, subscription_id)


class SubscriptionResumeView(SubscriptionActionView):
    """Resume a paused subscription; refused once its period has expired."""

    move = staticmethod(services.subscription_resume)

    @extend_schema(
        operation_id="subscription_resume",
        summary="Resume a paused subscription",
        request=None,
        responses={200: SubscriptionOutput, **KEY_RESPONSES},
        tags=["plans"],
    )
    def post(self, request: Request, subscription_id: str) -> Response:
        return self.act(request, subscription_id)
