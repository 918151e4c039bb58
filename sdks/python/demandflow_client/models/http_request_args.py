from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.http_method import HttpMethod
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.http_request_args_headers import HttpRequestArgsHeaders





T = TypeVar("T", bound="HttpRequestArgs")



@_attrs_define
class HttpRequestArgs:
    """ Args of an `http_request` job.

        Attributes:
            method (HttpMethod): An HTTP method.
            url (str): An absolute http(s) URL (at most 2048 characters).
            body (Any | Unset): A string is sent as is; any other JSON value is sent as JSON (at most 1 MiB).
            headers (HttpRequestArgsHeaders | Unset): Extra request headers (at most 50).
            timeout_ms (int | Unset): Timeout of the request, 1 to 300000 ms.
     """

    method: HttpMethod
    url: str
    body: Any | Unset = UNSET
    headers: HttpRequestArgsHeaders | Unset = UNSET
    timeout_ms: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.http_request_args_headers import HttpRequestArgsHeaders # noqa: PLC0415
        method = self.method.value

        url = self.url

        body = self.body

        headers: dict[str, Any] | Unset = UNSET
        if not isinstance(self.headers, Unset):
            headers = self.headers.to_dict()

        timeout_ms = self.timeout_ms


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "method": method,
            "url": url,
        })
        if body is not UNSET:
            field_dict["body"] = body
        if headers is not UNSET:
            field_dict["headers"] = headers
        if timeout_ms is not UNSET:
            field_dict["timeout_ms"] = timeout_ms

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.http_request_args_headers import HttpRequestArgsHeaders # noqa: PLC0415
        d = dict(src_dict)
        method = HttpMethod(d.pop("method"))




        url = d.pop("url")

        body = d.pop("body", UNSET)

        _headers = d.pop("headers", UNSET)
        headers: HttpRequestArgsHeaders | Unset
        if isinstance(_headers,  Unset):
            headers = UNSET
        else:
            headers = HttpRequestArgsHeaders.from_dict(_headers)




        timeout_ms = d.pop("timeout_ms", UNSET)

        http_request_args = cls(
            method=method,
            url=url,
            body=body,
            headers=headers,
            timeout_ms=timeout_ms,
        )


        http_request_args.additional_properties = d
        return http_request_args

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
