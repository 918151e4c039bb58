from enum import StrEnum

class NewJobNoopJobKind(StrEnum):
    NOOP = "noop"

    def __str__(self) -> str:
        return str(self.value)
