"""drf-spectacular extensions for the package's authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
