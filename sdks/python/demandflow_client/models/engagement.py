from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="Engagement")



@_attrs_define
class Engagement:
    """ Likes, reposts, comments and points, where the source gives them.

        Attributes:
            comments (int | Unset): Comments, replies.
            likes (int | Unset): Likes, favourites.
            points (int | Unset): A score or votes (may be negative).
            reposts (int | Unset): Reposts, boosts, quotes.
     """

    comments: int | Unset = UNSET
    likes: int | Unset = UNSET
    points: int | Unset = UNSET
    reposts: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        comments = self.comments

        likes = self.likes

        points = self.points

        reposts = self.reposts


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if comments is not UNSET:
            field_dict["comments"] = comments
        if likes is not UNSET:
            field_dict["likes"] = likes
        if points is not UNSET:
            field_dict["points"] = points
        if reposts is not UNSET:
            field_dict["reposts"] = reposts

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        comments = d.pop("comments", UNSET)

        likes = d.pop("likes", UNSET)

        points = d.pop("points", UNSET)

        reposts = d.pop("reposts", UNSET)

        engagement = cls(
            comments=comments,
            likes=likes,
            points=points,
            reposts=reposts,
        )


        engagement.additional_properties = d
        return engagement

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
