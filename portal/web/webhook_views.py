"""POST /webhooks/<token>/ — signed events for one connection (integrations/sync/webhooks.py)."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.sync import webhooks


@csrf_exempt
@require_POST
def receive(request, token: str):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"error": "bad Content-Length"}, status=400)
    if length > webhooks.MAX_BODY:  # refuse before reading the body
        return JsonResponse({"error": f"body larger than {webhooks.MAX_BODY // 1024} KiB"}, status=413)
    body = request.read(webhooks.MAX_BODY + 1)
    headers = {k.lower(): v for k, v in request.headers.items()}
    verdict = webhooks.receive(token, body=body, headers=headers, content_length=len(body))
    payload = {"status": verdict.message} if verdict.status < 400 else {"error": verdict.message}
    if verdict.delivery is not None:
        payload["id"] = verdict.delivery.pk
    return JsonResponse(payload, status=verdict.status)
