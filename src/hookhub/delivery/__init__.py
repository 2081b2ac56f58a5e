"""The delivery engine: one queue and one worker for outbound messages and inbound destinations.

``install.install(runtime)`` wires it into a process. (Kept empty: ``delivery.signing`` is used
by the relay and the API without pulling in the worker.)
"""
