"""piracysim: how legal harmonisation and MLA speed change how long telecom piracy persists."""

__version__ = "0.1.0"
