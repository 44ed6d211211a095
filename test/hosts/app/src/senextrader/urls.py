from django.urls import path

from trading import views

urlpatterns = [
    path("health/", views.health),
    path("orders/", views.create_order),
    path("orders/<int:order_id>/", views.order_status),
    path("beat/", views.beat_status),
    path("migrations/", views.migration_runs),
]
