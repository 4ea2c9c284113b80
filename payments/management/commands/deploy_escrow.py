"""`manage.py deploy_escrow`: deploy The402Escrow on base-sepolia or base.

The relayer key becomes the escrow's owner and operator; the treasury (`THE402_PAY_TO`)
receives the fees. Set the printed address as `THE402_ESCROW_ADDRESS`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.chain.client import get_web3
from payments.chain.devnet import deploy_escrow
from payments.networks import current_network


class Command(BaseCommand):
    help = "Deploy The402Escrow on the configured real network with the relayer key."

    def handle(self, *args: Any, **options: Any) -> None:
        network = current_network()
        if network.key == "devnet":
            raise CommandError("on devnet the escrow is deployed by `manage.py devnet start`")
        if not (settings.RELAYER_KEY and settings.PAY_TO and settings.CHAIN_RPC_URL):
            raise CommandError("THE402_RELAYER_KEY, THE402_PAY_TO and CHAIN_RPC_URL are required")
        w3 = get_web3(settings.CHAIN_RPC_URL)
        if w3.eth.chain_id != network.chain_id:
            raise CommandError(
                f"CHAIN_RPC_URL serves chain {w3.eth.chain_id}, "
                f"not {network.key} ({network.chain_id})"
            )
        address = deploy_escrow(
            w3, settings.RELAYER_KEY, token=network.usdc_address or "", treasury=settings.PAY_TO
        )
        self.stdout.write(
            f"The402Escrow deployed at {address}; set THE402_ESCROW_ADDRESS={address}"
        )
