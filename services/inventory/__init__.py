"""Inventory service: all-or-nothing reservations, releases and idempotent restocks."""
