"""Staff commuting and business-travel carbon inventory workbench."""

__version__ = "0.1.0"
