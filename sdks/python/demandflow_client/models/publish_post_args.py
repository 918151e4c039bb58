from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="PublishPostArgs")



@_attrs_define
class PublishPostArgs:
    """ Args of a `publish_post` job: `post_id` alone, or a workflow step's `account_id`,
    `template` and `data` (one post per job; the post's own job publishes it).

        Attributes:
            account_id (UUID | Unset): A step's post: an account of the caller's tenant.
            data (Any | Unset): A step's post: the data the template reads.
            post_id (UUID | Unset): A post of the caller's tenant.
            template (str | Unset): A step's post: the status's template (`{{ data.… }}`, `{% for %}`), cut to 500
                characters.
            visibility (str | Unset): A step's post: `public` (default), `unlisted`, `private` or `direct`.
     """

    account_id: UUID | Unset = UNSET
    data: Any | Unset = UNSET
    post_id: UUID | Unset = UNSET
    template: str | Unset = UNSET
    visibility: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        account_id: str | Unset = UNSET
        if not isinstance(self.account_id, Unset):
            account_id = str(self.account_id)

        data = self.data

        post_id: str | Unset = UNSET
        if not isinstance(self.post_id, Unset):
            post_id = str(self.post_id)

        template = self.template

        visibility = self.visibility


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if account_id is not UNSET:
            field_dict["account_id"] = account_id
        if data is not UNSET:
            field_dict["data"] = data
        if post_id is not UNSET:
            field_dict["post_id"] = post_id
        if template is not UNSET:
            field_dict["template"] = template
        if visibility is not UNSET:
            field_dict["visibility"] = visibility

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _account_id = d.pop("account_id", UNSET)
        account_id: UUID | Unset
        if isinstance(_account_id,  Unset):
            account_id = UNSET
        else:
            account_id = UUID(_account_id)




        data = d.pop("data", UNSET)

        _post_id = d.pop("post_id", UNSET)
        post_id: UUID | Unset
        if isinstance(_post_id,  Unset):
            post_id = UNSET
        else:
            post_id = UUID(_post_id)




        template = d.pop("template", UNSET)

        visibility = d.pop("visibility", UNSET)

        publish_post_args = cls(
            account_id=account_id,
            data=data,
            post_id=post_id,
            template=template,
            visibility=visibility,
        )


        publish_post_args.additional_properties = d
        return publish_post_args

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
