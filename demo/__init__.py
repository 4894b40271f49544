"""Bundled demo: invented feeds about the "tabled" Rubio–Lavrov meeting (Oct 2025), a local
feed server, and `storydiff demo`."""
