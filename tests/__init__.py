"""The test suite, a package so that tests, benchmarks and training scripts import its helpers
as ``tests.helpers.*`` (run from the repository root)."""
