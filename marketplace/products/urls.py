from __future__ import annotations

from django.urls import path

from marketplace.products import api

urlpatterns = [
    path("v1/products", api.ProductsView.as_view(), name="product-list"),
    path("v1/products/<str:product_id>", api.ProductView.as_view(), name="product-detail"),
    path("v1/products/<str:product_id>/file", api.ProductFileView.as_view(), name="product-file"),
    path(
        "v1/products/<str:product_id>/purchase",
        api.ProductPurchaseView.as_view(),
        name="product-purchase",
    ),
    path(
        "v1/products/<str:product_id>/download",
        api.ProductDownloadView.as_view(),
        name="product-download",
    ),
    path("v1/purchases", api.PurchasesView.as_view(), name="purchase-list"),
]
