"""The Cloud: a self-hosted cloud platform."""
