"""Label Studio as a backend: the managed local server or an existing one (see :mod:`.backend`)."""

from .backend import LabelStudioBackend
from .client import NotFound
from .connection import Project, check_options

__all__ = ["LabelStudioBackend", "NotFound", "Project", "check_options"]
