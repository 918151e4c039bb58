from enum import StrEnum

class NewJobDeliverJobKind(StrEnum):
    DELIVER = "deliver"

    def __str__(self) -> str:
        return str(self.value)
