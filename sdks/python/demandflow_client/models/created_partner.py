from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.partner import Partner





T = TypeVar("T", bound="CreatedPartner")



@_attrs_define
class CreatedPartner:
    """ A new partner, with its postback secret (shown this once).

        Attributes:
            partner (Partner): A partner (never its credentials).
            postback_secret (str): Sign postbacks with it: `X-Demandflow-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
                "<t>.<body>">`. Not shown again.
     """

    partner: Partner
    postback_secret: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.partner import Partner # noqa: PLC0415
        partner = self.partner.to_dict()

        postback_secret = self.postback_secret


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "partner": partner,
            "postback_secret": postback_secret,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.partner import Partner # noqa: PLC0415
        d = dict(src_dict)
        partner = Partner.from_dict(d.pop("partner"))




        postback_secret = d.pop("postback_secret")

        created_partner = cls(
            partner=partner,
            postback_secret=postback_secret,
        )


        created_partner.additional_properties = d
        return created_partner

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
