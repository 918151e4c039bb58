from enum import StrEnum

class GetEconomicsGroupBy(StrEnum):
    CATEGORY = "category"
    DAY = "day"
    RULESET = "ruleset"
    SOURCE = "source"
    WORKFLOW = "workflow"

    def __str__(self) -> str:
        return str(self.value)
