"""Small app modules the CLI tests load by import path."""
