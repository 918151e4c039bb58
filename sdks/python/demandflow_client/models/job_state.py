from enum import StrEnum

class JobState(StrEnum):
    AVAILABLE = "available"
    CANCELLED = "cancelled"
    DEAD = "dead"
    FAILED = "failed"
    PARKED = "parked"
    RUNNING = "running"
    SCHEDULED = "scheduled"
    SUCCEEDED = "succeeded"

    def __str__(self) -> str:
        return str(self.value)
