from __future__ import annotations

from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # The extension points of the apps below: payments asks us about referral codes at
        # sign-up; reputation tells us when a sybil flag is confirmed.
        from payments import hooks as payments_hooks
        from referrals import services, sources
        from reputation import hooks as reputation_hooks

        payments_hooks.referral_check.implement(services.referral_check)
        payments_hooks.referral_record.implement(services.referral_record)
        reputation_hooks.on_flag_confirmed.register(services.on_flag_confirmed)
        sources.register_source(sources.EscrowSettlements())
        sources.register_source(sources.DataApiCalls())
        sources.register_source(sources.SubscriptionPeriods())
        sources.register_source(sources.ProductSales())
