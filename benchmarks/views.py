"""The trivial views the benchmarks request: authentication and little else."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from drf_twostep.authentication import TwoStepTokenAuthentication


class TrivialView(APIView):
    """A view that does nothing, so that a request costs its authentication and little else."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


# The baseline: plain DRF TokenAuthentication, no 2SV check. Benchmarks only.
plain_token_view = TrivialView.as_view(authentication_classes=[TokenAuthentication])
# The same view enforcing 2SV.
enforced_token_view = TrivialView.as_view(authentication_classes=[TwoStepTokenAuthentication])
