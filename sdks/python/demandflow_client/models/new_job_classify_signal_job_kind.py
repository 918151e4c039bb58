from enum import StrEnum

class NewJobClassifySignalJobKind(StrEnum):
    CLASSIFY_SIGNAL = "classify_signal"

    def __str__(self) -> str:
        return str(self.value)
