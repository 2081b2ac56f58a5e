"""Test support: real servers on loopback, test databases."""
