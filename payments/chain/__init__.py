"""Talking to the chain: the local devnet, our transaction sender, and USDC settlement.

* ``payments.chain.devnet`` runs anvil and deploys our contracts (no Django needed, so the
  contract tests and the ``devnet`` command share it).
* ``payments.chain.client`` resolves the current deployment from settings and sends our
  transactions (``Relayer``) with serialised nonces.
* ``payments.chain.usdc`` settles EIP-3009 authorizations and reads balances.

Submodules are imported explicitly (``from payments.chain.usdc import ...``) rather than
re-exported here, so importing the devnet helpers never drags Django settings in.
"""

from __future__ import annotations
