"""Block storage: volumes on loop devices inside a copy-on-write pool."""
