"""A plugin whose import fails, as a plugin with a missing dependency or a bug would."""

raise RuntimeError("boom at import")
