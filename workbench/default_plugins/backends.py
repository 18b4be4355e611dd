"""The built-in backends."""

from workbench import hookimpl
from workbench.registry import BackendType


@hookimpl(trylast=True)
def register_backends(register):
    from workbench.backends.labelstudio import LabelStudioBackend
    from workbench.backends.local import LocalBackend

    register(BackendType("local", LocalBackend, "in-process dry run with the simulated crowd, no server"))
    register(BackendType("labelstudio", LabelStudioBackend,
                         "Label Studio: the managed local server, or an existing one (url + api_key_env)"))
