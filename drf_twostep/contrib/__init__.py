"""Authentication classes for optional packages (Simple JWT, knox), imported only when used.

Use them by their names in ``drf_twostep.authentication``."""
