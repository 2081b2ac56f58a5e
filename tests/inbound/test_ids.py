"""Event ids are KSUIDs as the ksuid library writes them, and strictly increasing."""

from __future__ import annotations

import time

from ksuid import Ksuid

from hookhub import ids


def test_new_id_is_the_ksuid_string_of_its_bytes() -> None:
    made = [ids.new_id("evt") for _ in range(2000)]
    for value in made:
        parsed = Ksuid.from_base62(value.removeprefix("evt_"))
        assert f"evt_{parsed}" == value
        assert abs(parsed.datetime.timestamp() - time.time()) < 60
    assert made == sorted(made)
    assert len(set(made)) == len(made)
