from enum import StrEnum

class ForecastBasis(StrEnum):
    NONE = "none"
    SOURCE = "source"
    TENANT = "tenant"

    def __str__(self) -> str:
        return str(self.value)
