"""The web service, pages and command line of RPA-banken."""

__version__ = "0.1.0"
