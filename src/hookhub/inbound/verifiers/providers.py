"""The providers whose signature is an HMAC variant, as data: one ``Scheme`` per source type.

Each row is the provider's documented scheme (``docs``); the tests sign each one from that recipe,
written out on their own rather than read from this table. ``window`` is the provider's replay
window where it names one; where it signs a timestamp but names no window, hookhub's default
(300 s, ``window_note`` says so) applies, and ``replayWindowSeconds`` overrides either.
"""

from __future__ import annotations

from hookhub.inbound.verifiers.hmac_scheme import Scheme

DEFAULT_WINDOW = 300
NO_WINDOW_NAMED = "hookhub's default: the provider names none"

SCHEMES: tuple[Scheme, ...] = (
    Scheme(
        "asana",
        "Asana",
        "X-Hook-Signature",
        "https://developers.asana.com/docs/webhooks-guide",
        handshake="`X-Hook-Secret` on the first request: not answered yet",
    ),
    Scheme(
        "bitbucket",
        "Bitbucket Cloud",
        "X-Hub-Signature",
        "https://bitbucket.org/blog/enhanced-webhook-security",
        prefix="sha256=",
    ),
    Scheme(
        "box",
        "Box",
        "BOX-SIGNATURE-PRIMARY",
        "https://developer.box.com/guides/webhooks/v2/signatures-v2",
        signed="{body}{timestamp}",
        encoding="base64",
        timestamp_header="BOX-DELIVERY-TIMESTAMP",
        timestamp_format="rfc3339",
        window=600,
    ),
    Scheme(
        "calendly",
        "Calendly",
        "Calendly-Webhook-Signature",
        "https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures",
        signed="{timestamp}.{body}",
        separator=",",
        signature_key="v1",
        timestamp_key="t",
        window=180,
    ),
    Scheme(
        "clickup",
        "ClickUp",
        "X-Signature",
        "https://developer.clickup.com/docs/webhooksignature",
    ),
    Scheme(
        "coinbase-commerce",
        "Coinbase Commerce",
        "X-CC-Webhook-Signature",
        "https://docs.cdp.coinbase.com/commerce/api-arcitecture/webhooks-security",
    ),
    Scheme(
        "coinify",
        "Coinify",
        "X-Coinify-Webhook-Signature",
        "https://coinify.readme.io/docs/webhook-signature",
    ),
    Scheme(
        "datasaur",
        "Datasaur",
        "X-Datasaur-Signature",
        "https://docs.datasaur.ai/integrations/webhook-notifications/webhook-signature",
    ),
    Scheme(
        "docusign",
        "Docusign Connect",
        "X-DocuSign-Signature-1",
        "https://developers.docusign.com/platform/webhooks/connect/validate",
        encoding="base64",
        # One header per active HMAC key; the source's key may sign any of them.
        other_headers=tuple(f"X-DocuSign-Signature-{n}" for n in range(2, 6)),
    ),
    Scheme(
        "dropbox",
        "Dropbox",
        "X-Dropbox-Signature",
        "https://www.dropbox.com/developers/reference/webhooks",
        handshake="`GET ?challenge=…` → the challenge (text/plain)",
    ),
    Scheme(
        "fourthwall",
        "Fourthwall",
        "X-Fourthwall-Hmac-SHA256",
        "https://docs.fourthwall.com/webhooks/signature-verification",
        encoding="base64",
    ),
    Scheme(
        "gitlab",
        "GitLab",
        "X-Gitlab-Token",
        "https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token",
        encoding="token",
    ),
    Scheme(
        "intercom",
        "Intercom",
        "X-Hub-Signature",
        "https://developers.intercom.com/docs/references/webhooks/webhook-models",
        algorithm="sha1",
        prefix="sha1=",
    ),
    Scheme(
        "lemon-squeezy",
        "Lemon Squeezy",
        "X-Signature",
        "https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
    ),
    Scheme(
        "linear",
        "Linear",
        "Linear-Signature",
        "https://linear.app/developers/webhooks",
        timestamp_field="webhookTimestamp",
        timestamp_format="unix-ms",
        window=DEFAULT_WINDOW,
        window_note=NO_WINDOW_NAMED,
    ),
    Scheme(
        "oracle-commerce",
        "Oracle Commerce",
        "X-Oracle-CC-WebHook-Signature",
        "https://docs.oracle.com/en/cloud/saas/cx-commerce/ccdev/secure-webhooks.html",
        algorithm="sha512",
        encoding="base64",
    ),
    Scheme(
        "paddle",
        "Paddle Billing",
        "Paddle-Signature",
        "https://developer.paddle.com/webhooks/signature-verification",
        signed="{timestamp}:{body}",
        separator=";",
        signature_key="h1",
        timestamp_key="ts",
        window=DEFAULT_WINDOW,
        # paddle-python-sdk's Verifier allows 5 s by default; its docs name no window, and
        # Paddle's retries may come later: a source can set replayWindowSeconds: 5.
        window_note="hookhub's default; Paddle's Python SDK checks 5 s",
    ),
    Scheme(
        "pagerduty",
        "PagerDuty",
        "X-PagerDuty-Signature",
        "https://developer.pagerduty.com/docs/webhooks/webhook-signatures",
        prefix="v1=",
        separator=",",
    ),
    Scheme(
        "quickbooks",
        "QuickBooks Online (Intuit)",
        "intuit-signature",
        "https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks",
        encoding="base64",
    ),
    Scheme(
        "razorpay",
        "Razorpay",
        "X-Razorpay-Signature",
        "https://razorpay.com/docs/webhooks/validate-test/",
    ),
    Scheme(
        "sentry",
        "Sentry",
        "Sentry-Hook-Signature",
        "https://docs.sentry.io/integrations/integration-platform/webhooks/",
    ),
    Scheme(
        "square",
        "Square",
        "x-square-hmacsha256-signature",
        "https://developer.squareup.com/docs/webhooks/step3validate",
        signed="{url}{body}",
        encoding="base64",
    ),
    Scheme(
        "twitch",
        "Twitch EventSub",
        "Twitch-Eventsub-Message-Signature",
        "https://dev.twitch.tv/docs/eventsub/handling-webhook-events",
        signed="{header:Twitch-Eventsub-Message-Id}{timestamp}{body}",
        prefix="sha256=",
        timestamp_header="Twitch-Eventsub-Message-Timestamp",
        timestamp_format="rfc3339",
        window=600,
        handshake="`webhook_callback_verification` (signed) → the challenge (text/plain)",
    ),
    Scheme(
        "typeform",
        "Typeform",
        "Typeform-Signature",
        "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
        encoding="base64",
        prefix="sha256=",
    ),
    Scheme(
        "vercel",
        "Vercel",
        "x-vercel-signature",
        "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
        algorithm="sha1",
    ),
    Scheme(
        "woocommerce",
        "WooCommerce",
        "X-WC-Webhook-Signature",
        "https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks",
        encoding="base64",
    ),
    Scheme(
        "xero",
        "Xero",
        "x-xero-signature",
        "https://developer.xero.com/documentation/guides/webhooks/overview/",
        encoding="base64",
        handshake="intent to receive: signed, so the signature check answers it (401 / 200)",
    ),
)
