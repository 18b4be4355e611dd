"""The Label Studio backend as a plugin: the backend itself, and its commands (``server``, ``invite``).

It goes through the same hooks as any outside backend, and imports nothing of Label Studio's until a
campaign uses it: without the ``labelstudio`` extra the rest of workbench installs and runs, and a
campaign that names this backend is told which extra to install.
"""

from __future__ import annotations

from ...api import BackendType, WorkbenchError, hookimpl
from .options import check_options

EXTRA_HINT = "pip install 'workbench[labelstudio]' (the managed server too: 'workbench[server]')"


def make_backend(ctx):
    """The factory: imports the backend (httpx, the Label Studio SDK) only when a campaign needs it."""
    try:
        from .backend import LabelStudioBackend
    except ImportError as exc:
        raise WorkbenchError(f"backend 'labelstudio' needs the optional extra 'labelstudio' ({exc.name} is not "
                             f"installed): {EXTRA_HINT}") from None
    return LabelStudioBackend(ctx)


@hookimpl(trylast=True)
def register_backends(register):
    register(BackendType("labelstudio", make_backend,
                         "Label Studio: the managed local server, or an existing one (url + api_key_env)",
                         check_options=check_options, requires=("httpx", "label_studio_sdk"), extra="labelstudio"))


@hookimpl(trylast=True)
def register_commands(cli):
    from .commands import add_commands

    add_commands(cli)
