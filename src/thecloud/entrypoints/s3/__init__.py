"""The S3 wire protocol as its own lean ASGI app: routing, SigV4/SigV2, aws-chunked, XML."""
