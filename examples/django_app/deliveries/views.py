import hmac
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

import smsstatus

from .models import Delivery


@csrf_exempt  # the gateway posts no CSRF token; the secret URL token stands in
@require_POST
def statuses(request: HttpRequest, token: str) -> HttpResponse:
    expected = settings.SMSSTATUS_TOKEN.encode()
    # compare_digest takes as long for a near miss as for a far one.
    if not expected or not hmac.compare_digest(token.encode(), expected):
        raise Http404
    ack = smsstatus.receive(
        request.body,
        Delivery.objects.record,
        tz=ZoneInfo(settings.SMSSTATUS_TIMEZONE),
    )
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)
