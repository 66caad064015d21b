"""Sandbox, python tool and Code-v0 tests."""
