from tests.delivery.conftest import make_receiver  # noqa: F401  (the loopback receiver fixture)
