"""Helpers shared by the tests and the benchmarks: seed records and mutants of every format
(``io_seeds``), the command line in or out of process (``cli``), a real ``ecglens serve``
subprocess (``serve_process``), the in-process API with a user per role (``clinic``),
hand-built interpretations (``interp_fixtures``)."""
