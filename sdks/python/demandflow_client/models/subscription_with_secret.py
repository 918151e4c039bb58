from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.subscription import Subscription





T = TypeVar("T", bound="SubscriptionWithSecret")



@_attrs_define
class SubscriptionWithSecret:
    """ A subscription with its signing secret (shown this once).

        Attributes:
            signing_secret (str): The `whsec_…` secret: verify `webhook-signature` with it. Not shown again.
            subscription (Subscription): A subscription (never its secrets).
     """

    signing_secret: str
    subscription: Subscription
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.subscription import Subscription # noqa: PLC0415
        signing_secret = self.signing_secret

        subscription = self.subscription.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "signing_secret": signing_secret,
            "subscription": subscription,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.subscription import Subscription # noqa: PLC0415
        d = dict(src_dict)
        signing_secret = d.pop("signing_secret")

        subscription = Subscription.from_dict(d.pop("subscription"))




        subscription_with_secret = cls(
            signing_secret=signing_secret,
            subscription=subscription,
        )


        subscription_with_secret.additional_properties = d
        return subscription_with_secret

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
