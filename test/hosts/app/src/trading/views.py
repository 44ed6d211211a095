import json

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Heartbeat, MigrationRun, Order
from .tasks import execute_order


def health(request):
    """200 when the database and the cache answer; 503 naming what failed otherwise."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as e:  # noqa: BLE001 — report any failure
        checks["database"] = f"error: {e.__class__.__name__}"
    try:
        cache.set("senex-health", "ok", 10)
        checks["cache"] = "ok" if cache.get("senex-health") == "ok" else "error: no round trip"
    except Exception as e:  # noqa: BLE001
        checks["cache"] = f"error: {e.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "error", **checks}, status=200 if ok else 503)


@csrf_exempt
def create_order(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = json.loads(request.body or b"{}")
    order = Order.objects.create(symbol=str(body.get("symbol", "SPY")), quantity=int(body.get("quantity", 1)))
    execute_order.delay(order.id)
    return JsonResponse({"id": order.id, "status": order.status}, status=201)


def order_status(request, order_id):
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse({"id": order.id, "status": order.status})


def beat_status(request):
    return JsonResponse({"heartbeats": Heartbeat.objects.count(), "hosts": sorted(set(Heartbeat.objects.values_list("hostname", flat=True)))})


def migration_runs(request):
    return JsonResponse({"runs": MigrationRun.objects.count()})
