"""The built-in export formats."""

from workbench import hookimpl
from workbench.registry import Exporter


@hookimpl(trylast=True)
def register_exporters(register):
    from workbench.export.formats import write_csv, write_jsonl

    register(Exporter("jsonl", "jsonl", write_jsonl, "one JSON record per line (default)"))
    register(Exporter("csv", "csv", write_csv, "comma-separated; nested fields as JSON strings"))
