from enum import StrEnum

class ListDeliveriesState(StrEnum):
    CONFIRMED = "confirmed"
    DEAD = "dead"
    FAILED = "failed"
    PENDING = "pending"
    SENT = "sent"
    SUPPRESSED = "suppressed"

    def __str__(self) -> str:
        return str(self.value)
