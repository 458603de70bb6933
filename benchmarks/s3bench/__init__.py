"""The S3 benchmark's parts (see benchmarks/s3_bench.py); shared pieces come from secretsbench."""
