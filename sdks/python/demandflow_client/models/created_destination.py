from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.destination import Destination





T = TypeVar("T", bound="CreatedDestination")



@_attrs_define
class CreatedDestination:
    """ A new destination, with a webhook's signing secret (shown this once).

        Attributes:
            destination (Destination): A destination (never its credentials).
            signing_secret (str | Unset): A webhook's `whsec_…` secret: verify `webhook-signature` with it. Not shown again.
     """

    destination: Destination
    signing_secret: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.destination import Destination # noqa: PLC0415
        destination = self.destination.to_dict()

        signing_secret = self.signing_secret


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "destination": destination,
        })
        if signing_secret is not UNSET:
            field_dict["signing_secret"] = signing_secret

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.destination import Destination # noqa: PLC0415
        d = dict(src_dict)
        destination = Destination.from_dict(d.pop("destination"))




        signing_secret = d.pop("signing_secret", UNSET)

        created_destination = cls(
            destination=destination,
            signing_secret=signing_secret,
        )


        created_destination.additional_properties = d
        return created_destination

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
