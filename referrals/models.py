"""Referral programme models arrive with the referrals issue."""

from __future__ import annotations
