"""What needs no I/O: registration shared by app, blueprint and module; app setup."""
