"""bulletin: builds the Inspectorate's annual research bulletin from case-level data."""

__version__ = "0.1.0"
