from enum import StrEnum

class ListCostsEntry(StrEnum):
    RELEASE = "release"
    RESERVE = "reserve"
    SETTLE = "settle"

    def __str__(self) -> str:
        return str(self.value)
