import json

from channels.generic.websocket import AsyncWebsocketConsumer

from .tasks import ORDERS_GROUP


class EchoConsumer(AsyncWebsocketConsumer):
    """Sends every message back, through the channel layer (so Redis is on the path)."""

    async def connect(self):
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.send(self.channel_name, {"type": "echo.message", "text": text_data})

    async def echo_message(self, event):
        await self.send(text_data=event["text"])


class OrdersConsumer(AsyncWebsocketConsumer):
    """Broadcasts order updates sent by the Celery task to the `orders` group."""

    async def connect(self):
        await self.channel_layer.group_add(ORDERS_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(ORDERS_GROUP, self.channel_name)

    async def order_update(self, event):
        await self.send(text_data=json.dumps(event["order"]))
