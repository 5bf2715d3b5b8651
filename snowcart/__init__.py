"""Snowcart: a real-time e-commerce sales pipeline (dbt + Python orchestration)."""

__version__ = "0.1.0"
