"""The built-in backends."""

from workbench import hookimpl
from workbench.registry import BackendType


@hookimpl(trylast=True)
def register_backends(register):
    from workbench.backends.labelstudio import LabelStudioBackend, check_options
    from workbench.backends.local import LocalBackend

    register(BackendType("local", LocalBackend, "in-process dry run with the simulated crowd, no server",
                         check_options=_no_options))
    register(BackendType("labelstudio", LabelStudioBackend,
                         "Label Studio: the managed local server, or an existing one (url + api_key_env)",
                         check_options=check_options))


def _no_options(options: dict) -> list[tuple[str, str]]:
    extra = sorted(set(options) - {"name"})
    return [(extra[0], "unknown field (the local backend takes no options)")] if extra else []
