"""A module that imports something that does not exist."""

import phial_no_such_module_for_tests  # type: ignore[import-not-found]  # missing on purpose  # noqa: F401
