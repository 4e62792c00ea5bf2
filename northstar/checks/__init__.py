"""Checks: data tests and unit tests, their config, how they run and the JUnit report."""
