"""The per-VPC DNS resolver instances ask (a forwarder on each VPC router address)."""
