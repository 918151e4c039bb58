from enum import StrEnum

class ListPostsState(StrEnum):
    DRAFT = "draft"
    FAILED = "failed"
    PUBLISHED = "published"
    SCHEDULED = "scheduled"

    def __str__(self) -> str:
        return str(self.value)
