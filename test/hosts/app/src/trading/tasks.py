import socket

from asgiref.sync import async_to_sync
from celery import shared_task
from channels.layers import get_channel_layer
from django.utils import timezone

from .models import Heartbeat, Order

ORDERS_GROUP = "orders"


@shared_task
def execute_order(order_id):
    """Fills the order and tells every connected /ws/orders/ client through the channel layer."""
    order = Order.objects.get(pk=order_id)
    order.status = "filled"
    order.filled_at = timezone.now()
    order.save(update_fields=["status", "filled_at"])
    async_to_sync(get_channel_layer().group_send)(
        ORDERS_GROUP, {"type": "order.update", "order": {"id": order.id, "status": order.status}}
    )
    return order.status


@shared_task
def record_heartbeat():
    Heartbeat.objects.create(hostname=socket.gethostname())
