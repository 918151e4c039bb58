from enum import StrEnum

class NewJobExportLeadJobKind(StrEnum):
    EXPORT_LEAD = "export_lead"

    def __str__(self) -> str:
        return str(self.value)
