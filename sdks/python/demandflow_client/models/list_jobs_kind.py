from enum import StrEnum

class ListJobsKind(StrEnum):
    CLASSIFY_SIGNAL = "classify_signal"
    DELIVER = "deliver"
    EXPORT_LEAD = "export_lead"
    FETCH_SOURCE = "fetch_source"
    HTTP_REQUEST = "http_request"
    NOOP = "noop"
    PUBLISH_POST = "publish_post"
    SCORE_LEAD = "score_lead"

    def __str__(self) -> str:
        return str(self.value)
