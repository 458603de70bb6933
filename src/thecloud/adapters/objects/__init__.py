"""Object data on the local filesystem (encrypted blobs); later also remote S3 clusters."""
