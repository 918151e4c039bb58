from enum import StrEnum

class NewJobFetchSourceJobKind(StrEnum):
    FETCH_SOURCE = "fetch_source"

    def __str__(self) -> str:
        return str(self.value)
