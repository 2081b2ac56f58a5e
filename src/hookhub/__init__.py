"""hookhub: a self-hosted webhook gateway that receives, relays and sends webhooks."""

__version__ = "0.1.0"
