"""A package for file-path imports."""
