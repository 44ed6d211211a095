from django.db import models


class Order(models.Model):
    """An order placed through the API and executed by a Celery task."""

    symbol = models.CharField(max_length=16)
    quantity = models.IntegerField()
    status = models.CharField(max_length=16, default="pending")
    created_at = models.DateTimeField(auto_now_add=True)
    filled_at = models.DateTimeField(null=True)


class Heartbeat(models.Model):
    """One row per Celery beat tick: proves beat fires (and fires once, not twice)."""

    at = models.DateTimeField(auto_now_add=True)
    hostname = models.CharField(max_length=255)


class MigrationRun(models.Model):
    """Written by the data migration: proves `migrate` ran exactly once per database."""

    at = models.DateTimeField(auto_now_add=True)
