"""drf-spectacular extensions for the package's authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


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
