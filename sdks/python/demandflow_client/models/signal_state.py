from enum import StrEnum

class SignalState(StrEnum):
    ALERTED = "alerted"
    CLASSIFIED = "classified"
    DISCARDED = "discarded"
    EXPIRED = "expired"
    NEW = "new"
    SCORED = "scored"

    def __str__(self) -> str:
        return str(self.value)
