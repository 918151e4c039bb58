from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.catch_up import CatchUp
from ..types import UNSET, Unset






T = TypeVar("T", bound="SchedulePatch")



@_attrs_define
class SchedulePatch:
    """ A change to a schedule; absent fields stay as they are.

        Attributes:
            catch_up (CatchUp | Unset): What happens to fire times missed while no scheduler ran.
            cron (str | Unset): A new expression (its next fire time is then the first after now).
            enabled (bool | Unset): Enable (its next fire time is then the first after now) or disable.
            input_ (Any | Unset): A new input.
            time_zone (str | Unset): A new time zone.
     """

    catch_up: CatchUp | Unset = UNSET
    cron: str | Unset = UNSET
    enabled: bool | Unset = UNSET
    input_: Any | Unset = UNSET
    time_zone: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        catch_up: str | Unset = UNSET
        if not isinstance(self.catch_up, Unset):
            catch_up = self.catch_up.value


        cron = self.cron

        enabled = self.enabled

        input_ = self.input_

        time_zone = self.time_zone


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if catch_up is not UNSET:
            field_dict["catch_up"] = catch_up
        if cron is not UNSET:
            field_dict["cron"] = cron
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if input_ is not UNSET:
            field_dict["input"] = input_
        if time_zone is not UNSET:
            field_dict["time_zone"] = time_zone

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _catch_up = d.pop("catch_up", UNSET)
        catch_up: CatchUp | Unset
        if isinstance(_catch_up,  Unset):
            catch_up = UNSET
        else:
            catch_up = CatchUp(_catch_up)




        cron = d.pop("cron", UNSET)

        enabled = d.pop("enabled", UNSET)

        input_ = d.pop("input", UNSET)

        time_zone = d.pop("time_zone", UNSET)

        schedule_patch = cls(
            catch_up=catch_up,
            cron=cron,
            enabled=enabled,
            input_=input_,
            time_zone=time_zone,
        )


        schedule_patch.additional_properties = d
        return schedule_patch

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
