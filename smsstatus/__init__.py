"""Receive the WebCom gateway's SMS and Viber delivery statuses.

Decode the gateway's XML or JSON status documents into typed reports, safely, and
answer with the acknowledgement it expects::

    ack = smsstatus.receive(request.body, store)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)
"""

from ._ack import Ack, build_ack, decode_ack
from ._decode import decode
from ._errors import DecodeError, PayloadTooLarge, SmsStatusError, UnsafePayload
from ._json import decode_json, encode_json
from ._model import (
    Batch,
    Channel,
    Format,
    Limits,
    ReportError,
    Status,
    StatusReport,
)
from ._receive import areceive, areceive_batch, receive, receive_batch
from ._xml import decode_xml, encode_xml

__version__ = "0.1.0"

__all__ = [
    "Ack",
    "Batch",
    "Channel",
    "DecodeError",
    "Format",
    "Limits",
    "PayloadTooLarge",
    "ReportError",
    "SmsStatusError",
    "Status",
    "StatusReport",
    "UnsafePayload",
    "__version__",
    "areceive",
    "areceive_batch",
    "build_ack",
    "decode",
    "decode_ack",
    "decode_json",
    "decode_xml",
    "encode_json",
    "encode_xml",
    "receive",
    "receive_batch",
]
