"""drf-spectacular extensions: the package's authentication classes, and the fields and
serializers whose schema drf-spectacular cannot infer (one-value enums, the error codes, the
field errors of a validation error)."""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import ResolvedComponent, build_bearer_security_scheme_object


class TwoStepSessionScheme(OpenApiAuthenticationExtension):
    target_class = "drf_twostep.authentication.TwoStepSessionAuthentication"
    name = "cookieAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class TwoStepTokenScheme(OpenApiAuthenticationExtension):
    target_class = "drf_twostep.authentication.TwoStepTokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token". A user '
            "with 2-Step Verification on needs a token from `login/verify/`.",
        }


class TwoStepJWTScheme(OpenApiAuthenticationExtension):
    target_class = "drf_twostep.authentication.TwoStepJWTAuthentication"
    name = "jwtAuth"
    priority = 1
    optional = True  # Simple JWT need not be installed

    def get_security_definition(self, auto_schema):
        from rest_framework_simplejwt.settings import api_settings

        definition = build_bearer_security_scheme_object(
            header_name=api_settings.AUTH_HEADER_NAME,
            token_prefix=api_settings.AUTH_HEADER_TYPES[0],
            bearer_format="JWT",
        )
        note = (
            "Simple JWT access token. A user with 2-Step Verification on needs one from "
            "`login/verify/` (its `amr` claim records the second step)."
        )
        definition["description"] = ". ".join(filter(None, [definition.get("description"), note]))
        return definition


class TwoStepKnoxScheme(OpenApiAuthenticationExtension):
    target_class = "drf_twostep.authentication.TwoStepKnoxAuthentication"
    name = "knoxTokenAuth"
    priority = 1
    optional = True  # django-rest-knox need not be installed

    def get_security_definition(self, auto_schema):
        prefix = self.target.authenticate_header(None)
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f'knox token with required prefix "{prefix}". A user with '
            "2-Step Verification on needs a token from `login/verify/`.",
        }


class ConstantFieldScheme(OpenApiSerializerFieldExtension):
    """A one-value enum, as a component of its own (``AuthenticatedStatus``) so that the
    enum naming of drf-spectacular leaves it be: the ``status`` that discriminates the answers
    of ``login/``."""

    target_class = "drf_twostep.serializers.fields.ConstantField"

    def map_serializer_field(self, auto_schema, direction):
        constant, field = self.target.constant, self.target.field_name
        words = f"{constant}_{field}".split("_")
        component = ResolvedComponent(
            name="".join(word.title() for word in words),
            type=ResolvedComponent.SCHEMA,
            object=f"{constant}_{field}",
            schema={"type": "string", "enum": [constant]},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class ErrorCodeFieldScheme(OpenApiSerializerFieldExtension):
    """The ``code`` of every error body: the one ``ErrorCode`` component."""

    target_class = "drf_twostep.serializers.fields.ErrorCodeField"

    def map_serializer_field(self, auto_schema, direction):
        from ..serializers.fields import ERROR_CODES

        component = ResolvedComponent(
            name="ErrorCode",
            type=ResolvedComponent.SCHEMA,
            object="ErrorCode",
            schema={
                "type": "string",
                "enum": ERROR_CODES,
                "description": "A stable machine string: docs/API.md, Error codes.",
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class ValidationErrorScheme(OpenApiSerializerExtension):
    """``ValidationErrorResponse``: ``detail`` and ``code``, and each bad field with its
    messages (``additionalProperties``)."""

    target_class = "drf_twostep.serializers.responses.ValidationErrorSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {
            **schema,
            # DRF's shape: a field's messages (a list), or for a list or an object field its
            # items' messages by index or key (an object of lists).
            "additionalProperties": {
                "description": "A field's error messages, or its items' messages by index or key.",
            },
        }
