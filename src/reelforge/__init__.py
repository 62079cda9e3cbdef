"""reelforge: a self-hostable AI video generation platform."""

__version__ = "0.1.0"
