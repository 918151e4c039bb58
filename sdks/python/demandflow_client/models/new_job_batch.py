from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.new_job_classify_signal_job import NewJobClassifySignalJob
  from ..models.new_job_deliver_job import NewJobDeliverJob
  from ..models.new_job_export_lead_job import NewJobExportLeadJob
  from ..models.new_job_fetch_source_job import NewJobFetchSourceJob
  from ..models.new_job_http_request_job import NewJobHttpRequestJob
  from ..models.new_job_noop_job import NewJobNoopJob
  from ..models.new_job_publish_post_job import NewJobPublishPostJob
  from ..models.new_job_score_lead_job import NewJobScoreLeadJob





T = TypeVar("T", bound="NewJobBatch")



@_attrs_define
class NewJobBatch:
    """ A batch of jobs, enqueued all or nothing.

        Attributes:
            jobs (list[NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob |
                NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob]): 1 to 1000 jobs. An invalid
                one fails the whole batch, naming its path (`jobs[3].args.url`).
     """

    jobs: list[NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.new_job_classify_signal_job import NewJobClassifySignalJob # noqa: PLC0415
        from ..models.new_job_deliver_job import NewJobDeliverJob # noqa: PLC0415
        from ..models.new_job_export_lead_job import NewJobExportLeadJob # noqa: PLC0415
        from ..models.new_job_fetch_source_job import NewJobFetchSourceJob # noqa: PLC0415
        from ..models.new_job_http_request_job import NewJobHttpRequestJob # noqa: PLC0415
        from ..models.new_job_noop_job import NewJobNoopJob # noqa: PLC0415
        from ..models.new_job_publish_post_job import NewJobPublishPostJob # noqa: PLC0415
        from ..models.new_job_score_lead_job import NewJobScoreLeadJob # noqa: PLC0415
        jobs = []
        for jobs_item_data in self.jobs:
            jobs_item: dict[str, Any]
            if isinstance(jobs_item_data, NewJobNoopJob):
                jobs_item = jobs_item_data.to_dict()
            elif isinstance(jobs_item_data, NewJobHttpRequestJob):
                jobs_item = jobs_item_data.to_dict()
            elif isinstance(jobs_item_data, NewJobFetchSourceJob):
                jobs_item = jobs_item_data.to_dict()
            elif isinstance(jobs_item_data, NewJobScoreLeadJob):
                jobs_item = jobs_item_data.to_dict()
            elif isinstance(jobs_item_data, NewJobClassifySignalJob):
                jobs_item = jobs_item_data.to_dict()
            elif isinstance(jobs_item_data, NewJobDeliverJob):
                jobs_item = jobs_item_data.to_dict()
            elif isinstance(jobs_item_data, NewJobPublishPostJob):
                jobs_item = jobs_item_data.to_dict()
            else:
                jobs_item = jobs_item_data.to_dict()

            jobs.append(jobs_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "jobs": jobs,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.new_job_classify_signal_job import NewJobClassifySignalJob # noqa: PLC0415
        from ..models.new_job_deliver_job import NewJobDeliverJob # noqa: PLC0415
        from ..models.new_job_export_lead_job import NewJobExportLeadJob # noqa: PLC0415
        from ..models.new_job_fetch_source_job import NewJobFetchSourceJob # noqa: PLC0415
        from ..models.new_job_http_request_job import NewJobHttpRequestJob # noqa: PLC0415
        from ..models.new_job_noop_job import NewJobNoopJob # noqa: PLC0415
        from ..models.new_job_publish_post_job import NewJobPublishPostJob # noqa: PLC0415
        from ..models.new_job_score_lead_job import NewJobScoreLeadJob # noqa: PLC0415
        d = dict(src_dict)
        jobs = []
        _jobs = d.pop("jobs")
        for jobs_item_data in (_jobs):
            def _parse_jobs_item(data: object) -> NewJobClassifySignalJob | NewJobDeliverJob | NewJobExportLeadJob | NewJobFetchSourceJob | NewJobHttpRequestJob | NewJobNoopJob | NewJobPublishPostJob | NewJobScoreLeadJob:
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_new_job_type_0 = NewJobNoopJob.from_dict(data)



                    return componentsschemas_new_job_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_new_job_type_1 = NewJobHttpRequestJob.from_dict(data)



                    return componentsschemas_new_job_type_1
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_new_job_type_2 = NewJobFetchSourceJob.from_dict(data)



                    return componentsschemas_new_job_type_2
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_new_job_type_3 = NewJobScoreLeadJob.from_dict(data)



                    return componentsschemas_new_job_type_3
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_new_job_type_4 = NewJobClassifySignalJob.from_dict(data)



                    return componentsschemas_new_job_type_4
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_new_job_type_5 = NewJobDeliverJob.from_dict(data)



                    return componentsschemas_new_job_type_5
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_new_job_type_6 = NewJobPublishPostJob.from_dict(data)



                    return componentsschemas_new_job_type_6
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_new_job_type_7 = NewJobExportLeadJob.from_dict(data)



                return componentsschemas_new_job_type_7

            jobs_item = _parse_jobs_item(jobs_item_data)

            jobs.append(jobs_item)


        new_job_batch = cls(
            jobs=jobs,
        )


        new_job_batch.additional_properties = d
        return new_job_batch

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
