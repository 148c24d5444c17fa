"""Stage 6, *report*: files, tables, plots and traces from accounted results."""
