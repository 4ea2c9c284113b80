"""Shared OpenAPI pieces."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="What went wrong, for programs.")


ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid parameters"),
}
