"""The built-in local backend (Label Studio is its own plugin: ``workbench.backends.labelstudio.plugin``)."""

from workbench.api import BackendType, hookimpl


@hookimpl(trylast=True)
def register_backends(register):
    from workbench.backends.local import LocalBackend

    register(BackendType("local", LocalBackend, "in-process dry run with the simulated crowd, no server",
                         check_options=_no_options))


def _no_options(options: dict) -> list[tuple[str, str]]:
    extra = sorted(set(options) - {"name"})
    return [(extra[0], "unknown field (the local backend takes no options)")] if extra else []
