from enum import StrEnum

class ExportLeadsStatus(StrEnum):
    CONTACTED = "contacted"
    EXPORTED = "exported"
    NEW = "new"
    QUALIFIED = "qualified"
    REJECTED = "rejected"
    RETURNED = "returned"

    def __str__(self) -> str:
        return str(self.value)
