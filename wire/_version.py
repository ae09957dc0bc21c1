"""The version of wire, in one place (the package, the CLI and the user-agent read it)."""

__version__ = "0.1.0"
