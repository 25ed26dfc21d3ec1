"""DynamoDB repositories (orders, inventory, reservations, payments)."""

from shared.repositories.inventory import InventoryRepository
from shared.repositories.orders import OrdersRepository
from shared.repositories.payments import PaymentsRepository
from shared.repositories.reservations import ReservationsRepository

__all__ = ["InventoryRepository", "OrdersRepository", "PaymentsRepository", "ReservationsRepository"]
