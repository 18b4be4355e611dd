"""Label Studio as a backend: the managed local server or an existing one.

:mod:`.plugin` registers it (and its commands); :mod:`.backend` is the backend, :mod:`.connection` the
server and the project, :mod:`.push`, :mod:`.crowd` and :mod:`.pull` the steps, :mod:`.server` the managed
server, :mod:`.commands` ``workbench server`` and ``workbench invite``. Nothing here is imported until a
campaign or a command needs it.
"""
