"""Quality evaluations on the real datasets in ../shared/data (run by `storydiff eval ...`)."""
