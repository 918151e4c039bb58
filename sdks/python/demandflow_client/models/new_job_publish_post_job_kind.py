from enum import StrEnum

class NewJobPublishPostJobKind(StrEnum):
    PUBLISH_POST = "publish_post"

    def __str__(self) -> str:
        return str(self.value)
