"""workbench: a plugin-based data-labeling workbench for text campaigns."""

from .hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
