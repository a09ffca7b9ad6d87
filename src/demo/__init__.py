"""Demo data: a generated inbox (``generate``) and the FIT writer it uses (``fit_writer``)."""
