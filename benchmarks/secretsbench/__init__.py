"""The secrets benchmark's parts; ``benchmarks/secrets_bench.py`` is the command."""
