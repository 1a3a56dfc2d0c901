"""Path parameters the API controllers share, declared once with their validation and description."""

from __future__ import annotations

from typing import Annotated

from litestar.params import FromPath, PathParameter, QueryParameter

ProcessIdParam = Annotated[str, PathParameter(max_length=140, description="The process's slug")]
Code = Annotated[str, PathParameter(pattern=r"^\d{3}$", description="3-digit municipality code")]

ProcessIdPath = FromPath[ProcessIdParam]
CodePath = FromPath[Code]

IdPath = FromPath[Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="The record's id")]]  # an INTEGER column

# Query filters the benefit endpoints share.
MunicipalityQuery = Annotated[
    str | None, QueryParameter(pattern=r"^\d{3}$", description="3-digit municipality code (owner or adopter)")
]
ProcessQuery = Annotated[str | None, QueryParameter(max_length=140, description="a process's slug")]
