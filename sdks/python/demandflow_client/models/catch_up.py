from enum import StrEnum

class CatchUp(StrEnum):
    ALL = "all"
    ONCE = "once"
    SKIP = "skip"

    def __str__(self) -> str:
        return str(self.value)
