"""The JSON Schema of the profiles file, generated from the registered kind models.

Editors that read a ``#:schema`` line (Taplo, Even Better TOML) validate and
complete the file with it; ``schemas/profiles.schema.json`` is its committed copy.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import MODELS


def profiles_file_model() -> type[BaseModel]:
    """The whole file, every registered kind included: only used for the JSON Schema."""
    from pydantic import create_model

    kinds: Any = typing.Union[tuple(MODELS.values())]  # noqa: UP007 - built at run time
    profile = Annotated[kinds, Field(discriminator="kind")]
    model: type[BaseModel] = create_model(
        "ProfilesFile",
        __doc__="The profiles file.",  # its place in the schema; json_schema() words it
        __config__=ConfigDict(extra="forbid", title="kfp-profiles file"),
        version=(
            Literal[1] | None,
            Field(default=None, description="File format version."),
        ),
        default=(
            str | None,
            Field(
                default=None,
                description="Profile used when no name is given and KFP_PROFILE is unset.",
            ),
        ),
        profiles=(
            dict[str, profile],
            Field(default_factory=dict, description="Profiles by name."),
        ),
    )
    return model


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the file, for editors (Taplo, Even Better TOML) and ``schemas/``."""
    from pydantic.json_schema import GenerateJsonSchema

    class TomlSchema(GenerateJsonSchema):
        # TOML has no null: an optional field is simply left out.
        def nullable_schema(self, schema: Any) -> Any:
            return self.generate_inner(schema["schema"])

        def default_schema(self, schema: Any) -> Any:
            generated = super().default_schema(schema)
            if generated.get("default", 0) is None:
                generated.pop("default")
            return generated

    schema = profiles_file_model().model_json_schema(schema_generator=TomlSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "Connection profiles for the Kubeflow Pipelines SDK (kfp-profiles). "
        "Secrets never go in this file: use `kfp-profiles secret set NAME`."
    )
    return schema
