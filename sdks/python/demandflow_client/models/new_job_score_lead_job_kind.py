from enum import StrEnum

class NewJobScoreLeadJobKind(StrEnum):
    SCORE_LEAD = "score_lead"

    def __str__(self) -> str:
        return str(self.value)
