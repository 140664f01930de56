"""
The schema of the organization endpoints (an organization's 2SV policy and its members), as
``schema.operations`` has it for the rest: one ``extend_schema`` per operation, named after it.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema

from .. import serializers as s
from ..constants import ErrorCode
from .responses import VALIDATION, authenticated, error

ORG_TAG = "Organizations"

POLICY_CHANGE_RESPONSES = authenticated(
    {
        200: s.PolicySerializer,
        400: VALIDATION,
        403: error(ErrorCode.TWO_STEP_SETUP_REQUIRED, ErrorCode.REVERIFICATION_REQUIRED),
        404: error(ErrorCode.NOT_FOUND),
    },
    setup_allowed=False,
)

policy_retrieve = extend_schema(
    tags=[ORG_TAG],
    operation_id="organization_policy_retrieve",
    responses=authenticated(
        {200: s.PolicySerializer, 404: error(ErrorCode.NOT_FOUND)}, setup_allowed=False
    ),
)

policy_update = extend_schema(
    tags=[ORG_TAG],
    operation_id="organization_policy_update",
    request=s.PolicySerializer,
    responses=POLICY_CHANGE_RESPONSES,
)

policy_partial_update = extend_schema(
    tags=[ORG_TAG],
    operation_id="organization_policy_partial_update",
    request=s.PolicySerializer(partial=True),
    responses=POLICY_CHANGE_RESPONSES,
)

members_list = extend_schema(
    tags=[ORG_TAG],
    operation_id="organization_members_list",
    parameters=[
        OpenApiParameter(
            "compliant", bool, description="Only members who do (not) meet the policy."
        )
    ],
    responses=authenticated(
        {
            200: s.MemberSerializer(many=True),
            400: VALIDATION,
            404: error(ErrorCode.NOT_FOUND),
        },
        setup_allowed=False,
    ),
)

member_reset = extend_schema(
    tags=[ORG_TAG],
    operation_id="organization_member_reset_two_step",
    request=None,
    responses=authenticated(
        {
            204: None,
            403: error(ErrorCode.TWO_STEP_SETUP_REQUIRED, ErrorCode.REVERIFICATION_REQUIRED),
            404: error(ErrorCode.NOT_FOUND),
        },
        setup_allowed=False,
    ),
)
