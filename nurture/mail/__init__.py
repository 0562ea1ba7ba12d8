"""Mail out: transports that take an Envelope and answer with a Delivery.

`transport.py` holds the port (Envelope, Delivery, Outcome, Transport); `smtp.py` and
`maildir.py` are the two adapters, `build.py` picks one from the settings; `status.py`
classifies SMTP replies; `dkim.py` signs messages before they reach a transport.
"""

from __future__ import annotations

from nurture.mail.build import build_transport
from nurture.mail.dkim import DkimError, DkimSigner
from nurture.mail.maildir import MaildirTransport
from nurture.mail.smtp import SmtpTransport
from nurture.mail.status import classify
from nurture.mail.transport import Delivery, Envelope, Outcome, Transport

__all__ = [
    "Delivery",
    "DkimError",
    "DkimSigner",
    "Envelope",
    "MaildirTransport",
    "Outcome",
    "SmtpTransport",
    "Transport",
    "build_transport",
    "classify",
]
