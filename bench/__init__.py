"""``python -m bench``: hookhub's benchmarks, with a bare-ASGI baseline measured in the same run."""
