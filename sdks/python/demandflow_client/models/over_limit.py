from enum import StrEnum

class OverLimit(StrEnum):
    CANCEL_NEWEST = "cancel_newest"
    KEEP_NEWEST = "keep_newest"
    QUEUE = "queue"

    def __str__(self) -> str:
        return str(self.value)
